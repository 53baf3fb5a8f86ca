"""The training sample every dataset yields, and the grid labels of a position.

Datasets (CVIS, KITTI-CVL, simulated) all produce :class:`SequenceSample` with raw uint8 images;
the training collate preprocesses them with the model's sizes and normalisation
(``runtime/preprocess.py``), so datasets never repeat those.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cvseq_localizer.geo import GeoImage


@dataclass
class SequenceSample:
    """A sequence of T camera frames localised in one satellite tile.

    Attributes:
        ground: ``[T, H, W, 3]`` uint8 RGB camera frames (any size; resized by the collate).
        sat: ``[S, S, 3]`` uint8 RGB satellite tile, north-up, square.
        uv_px: ``[T, 2]`` true positions ``(u, v)`` in ``sat`` pixels (corner-based).
        metres_per_px: ground size of one ``sat`` pixel (m).
        name: identifier for logs (e.g. ``cvis/2019/123`` or ``sim/seed7/42``).
    """

    ground: np.ndarray
    sat: np.ndarray
    uv_px: np.ndarray
    metres_per_px: float
    name: str = ''


def grid_labels(uv_px: np.ndarray, sat_px: int, grid_n: int) -> tuple[np.ndarray, np.ndarray]:
    """Cell index and in-cell offset of positions in a ``sat_px`` square tile with an N x N grid.

    Args:
        uv_px: ``[..., 2]`` positions ``(u, v)`` in tile pixels (u east/right, v south/down).
    Returns:
        ``cells [...]`` int64 ``row * N + col`` and ``offsets [..., 2]`` ``(row, col)`` in
        ``[0, 1)`` from the cell's top-left corner (the model's convention).
    Raises:
        ValueError: a position outside the tile.
    """
    uv = np.asarray(uv_px, np.float64)
    cell_px = sat_px / grid_n
    if np.any(uv < 0) or np.any(uv >= sat_px) or not np.all(np.isfinite(uv)):
        raise ValueError(f'position(s) {uv[(uv < 0) | (uv >= sat_px)][:4]} outside the tile')
    col_f = uv[..., 0] / cell_px
    row_f = uv[..., 1] / cell_px
    col = np.minimum(np.floor(col_f), grid_n - 1)
    row = np.minimum(np.floor(row_f), grid_n - 1)
    cells = (row * grid_n + col).astype(np.int64)
    offsets = np.stack([row_f - row, col_f - col], axis=-1)
    return cells, np.clip(offsets, 0.0, np.nextafter(1.0, 0.0))


def latlon_to_tile_px(geo: GeoImage, lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    """``[T, 2]`` tile pixel positions of lat/lon points (through the project's geodesy)."""
    u, v = geo.latlon_to_pixel(np.asarray(lat_deg), np.asarray(lon_deg))
    return np.stack([np.atleast_1d(u), np.atleast_1d(v)], axis=-1)
