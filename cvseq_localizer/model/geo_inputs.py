"""Numpy preprocessing of ``GeoLocNet`` inputs, shared by the data stream and the engines.

The BEV is projected with the camera model at the heading prior (``geo/bev.py``) and normalised
with the checkpoint's mean/std; pixels outside the mask are zero after normalisation.
"""

from __future__ import annotations

import math

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


class BevProjector:
    """``bev_input`` with the per-camera geometry cached: the image coordinates of every ground
    point of a body-aligned raster are computed once per camera; each frame only rotates that
    lookup to north-up at the yaw (``cv2.remap`` of the maps, then of the image). The lookup is
    a smooth function, so linear interpolation of it differs from ``project_to_bev`` by a small
    fraction of a camera pixel; the mask drops pixels next to invalid ones.
    """

    def __init__(self, camera: CameraModel, cfg: GeoConfig) -> None:
        camera.validate()
        self.camera, self.cfg = camera, cfg
        spec = cfg.bev_spec()
        self.side = side = int(math.ceil(spec.size_px * math.sqrt(2))) + 4
        c = (side / 2.0 - np.arange(side) - 0.5) * spec.res_m
        fwd, left = np.meshgrid(c, c, indexing='ij')  # row: forward decreasing, col: left
        body = np.stack([fwd, left], -1).reshape(-1, 2)
        uv, inside = camera.ground_to_pixel(body)
        dist = np.hypot(body[:, 0] - camera.mount.x_m, body[:, 1] - camera.mount.y_m)
        valid = inside & (dist >= spec.min_range_m) & (dist <= spec.max_range_m)
        uv = np.where(valid[:, None], uv, -1e4).astype(np.float32)
        self.map_u = uv[:, 0].reshape(side, side)
        self.map_v = uv[:, 1].reshape(side, side)
        self.valid = valid.reshape(side, side).astype(np.float32)
        n = spec.size_px
        g = (np.arange(n) + 0.5 - n / 2.0) * spec.res_m
        self._east, self._north = np.meshgrid(g, -g)

    def __call__(self, image: np.ndarray, yaw_rad: float) -> tuple[np.ndarray, np.ndarray]:
        """Same contract as :func:`bev_input` (``bev [3, Hb, Wb]``, ``mask [1, Hb, Wb]``)."""
        cam = self.camera
        if image.shape[:2] != (cam.height_px, cam.width_px) or image.dtype != np.uint8:
            raise ValueError(
                f'image {image.shape} {image.dtype} does not match the camera '
                f'{cam.width_px}x{cam.height_px} uint8'
            )
        res, side = self.cfg.bev_res_m, self.side
        c, s = math.cos(yaw_rad), math.sin(yaw_rad)
        x = c * self._east + s * self._north
        y = -s * self._east + c * self._north
        col = (side / 2.0 - y / res - 0.5).astype(np.float32)
        row = (side / 2.0 - x / res - 0.5).astype(np.float32)
        lin, const = cv2.INTER_LINEAR, cv2.BORDER_CONSTANT
        mu = cv2.remap(self.map_u, col, row, lin, borderMode=const, borderValue=-1e4)
        mv = cv2.remap(self.map_v, col, row, lin, borderMode=const, borderValue=-1e4)
        valid = cv2.remap(self.valid, col, row, lin, borderMode=const, borderValue=0) > 0.999
        bev = cv2.remap(image, mu, mv, lin, borderMode=const)
        m = valid.astype(np.float32)
        return normalise_rgb(bev, self.cfg) * m[None], m[None]
