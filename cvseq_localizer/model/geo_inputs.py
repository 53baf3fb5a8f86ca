"""Numpy preprocessing of ``GeoLocNet`` inputs, shared by the data stream and the engines.

The BEV is projected with the camera model at the heading prior (``geo/bev.py``) and normalised
with the checkpoint's mean/std; pixels outside the mask are zero after normalisation.
"""

from __future__ import annotations

import cv2
import numpy as np

from cvseq_localizer.geo.bev import project_to_bev
from cvseq_localizer.geo.camera import CameraModel
from cvseq_localizer.model.geo_config import GeoConfig


def normalise_rgb(image: np.ndarray, cfg: GeoConfig) -> np.ndarray:
    """``H x W x 3`` uint8 -> ``3 x H x W`` float32 ``(rgb / 255 - mean) / std``."""
    x = image.astype(np.float32) * (1.0 / 255.0)
    x = (x - np.asarray(cfg.mean, np.float32)) / np.asarray(cfg.std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def bev_input(
    image: np.ndarray, camera: CameraModel, cfg: GeoConfig, yaw_rad: float
) -> tuple[np.ndarray, np.ndarray]:
    """Camera frame -> (``bev [3, Hb, Wb]`` float32 normalised, ``mask [1, Hb, Wb]`` float32).

    ``image`` must match ``camera``'s size (ValueError otherwise). North-up at ``yaw_rad``.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f'camera image must be HxWx3 uint8 RGB, got {image.shape} {image.dtype}')
    bev, valid = project_to_bev(image, camera, cfg.bev_spec(), float(yaw_rad))
    m = valid.astype(np.float32)
    return normalise_rgb(bev, cfg) * m[None], m[None]


def sat_input(tile_rgb: np.ndarray, cfg: GeoConfig) -> np.ndarray:
    """North-up tile (square uint8 RGB covering ``sat_ground_m``) -> ``[3, S, S]`` float32."""
    if tile_rgb.ndim != 3 or tile_rgb.shape[2] != 3 or tile_rgb.dtype != np.uint8:
        raise ValueError(f'satellite tile must be HxWx3 uint8, got {tile_rgb.shape}')
    h, w = tile_rgb.shape[:2]
    if h != w:
        raise ValueError(f'satellite tile must be square, got {w}x{h} px')
    s = cfg.sat_size
    if h != s:
        interp = cv2.INTER_AREA if h > s else cv2.INTER_LINEAR
        tile_rgb = cv2.resize(tile_rgb, (s, s), interpolation=interp)
    return normalise_rgb(tile_rgb, cfg)
