"""Bird's-eye view: a camera frame projected onto the ground plane, north-up, around the vehicle.

Inverse perspective mapping with a :class:`CameraModel` (flat ground, z = 0 in ``base_link``),
rotated by the vehicle's yaw so that the raster is aligned with a north-up satellite tile.

Raster convention (the same as ``GeoImage``/``EnuGrid``: corner-based, row 0 = north): a square of
``size_px`` pixels of ``res_m`` metres; the vehicle (``base_link`` origin) sits at the raster
centre, so pixel ``[r, c]`` covers the ENU offset ``east = (c + 0.5 - size/2) res``,
``north = (size/2 - r - 0.5) res`` from the vehicle. Yaw is REP-103 (0 = east, counter-clockwise).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from cvseq_localizer.geo.camera import CameraModel


@dataclass(frozen=True)
class BevSpec:
    """Size, resolution and ground range of a bird's-eye-view raster."""

    size_px: int = 128  # raster side
    res_m: float = 0.5  # metres per pixel
    min_range_m: float = 3.0  # ground closer than this (bonnet, blur) is masked out
    max_range_m: float = 32.0  # ground farther than this (too few pixels per metre) is masked


def bev_offsets_enu(spec: BevSpec) -> np.ndarray:
    """``(size, size, 2)`` ENU offsets (east, north) in metres of the raster's pixel centres."""
    c = (np.arange(spec.size_px) + 0.5 - spec.size_px / 2.0) * spec.res_m
    east, north = np.meshgrid(c, -c)
    return np.stack([east, north], axis=-1)


def enu_offsets_to_body(offsets_enu_m: np.ndarray, yaw_rad: float) -> np.ndarray:
    """``(..., 2)`` ENU offsets from the vehicle -> ``(..., 2)`` ``base_link`` (x fwd, y left)."""
    c, s = np.cos(yaw_rad), np.sin(yaw_rad)
    e, n = offsets_enu_m[..., 0], offsets_enu_m[..., 1]
    return np.stack([c * e + s * n, -s * e + c * n], axis=-1)


def bev_maps(
    camera: CameraModel, spec: BevSpec, yaw_rad: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``cv2.remap`` maps for the north-up BEV at ``yaw_rad``.

    Returns ``(map_u, map_v, valid)``: ``(size, size)`` float32 image coordinates (OpenCV
    convention, NaN -> -1 where invalid) and a bool mask of pixels that see the ground within
    ``[min_range_m, max_range_m]`` inside the image.
    """
    offsets = bev_offsets_enu(spec)
    body = enu_offsets_to_body(offsets, yaw_rad).reshape(-1, 2)
    uv, inside = camera.ground_to_pixel(body)
    dist = np.hypot(body[:, 0] - camera.mount.x_m, body[:, 1] - camera.mount.y_m)
    valid = inside & (dist >= spec.min_range_m) & (dist <= spec.max_range_m)
    uv = np.where(valid[:, None], uv, -1.0).astype(np.float32)
    shape = (spec.size_px, spec.size_px)
    return uv[:, 0].reshape(shape), uv[:, 1].reshape(shape), valid.reshape(shape)


def project_to_bev(
    image: np.ndarray, camera: CameraModel, spec: BevSpec, yaw_rad: float
) -> tuple[np.ndarray, np.ndarray]:
    """Project a camera frame onto the ground: ``(bev (size, size[, C]) image.dtype, mask)``.

    ``image`` must be ``camera.height_px x camera.width_px`` (scale the camera with
    :meth:`CameraModel.scaled` for a resized image); raises ValueError otherwise.
    """
    if image.shape[:2] != (camera.height_px, camera.width_px):
        raise ValueError(
            f'image is {image.shape[1]}x{image.shape[0]} px but the camera model is '
            f'{camera.width_px}x{camera.height_px} px'
        )
    map_u, map_v, valid = bev_maps(camera, spec, yaw_rad)
    bev = cv2.remap(image, map_u, map_v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    bev[~valid] = 0
    return bev, valid
