"""``EnuGrid``: a north-up raster of square cells in a local ENU frame (the simulated world).

A raster painted in metres in the ENU frame of a datum (a tangent plane) is an affine grid in
metres, not a Web Mercator image, so ``GeoImage`` cannot describe it. This small value object (in
the spirit of OrienterNet's ``Canvas``) converts its pixels and ENU metres; it lives in ``geo/``
with every other pixel/metre/degree conversion (``LocalFrame``, ``GeoImage``).

Pixels are corner-based like ``GeoImage``: ``(u, v) = (0, 0)`` is the north-west corner of the
raster, the centre of cell ``[row, col]`` is ``(col + 0.5, row + 0.5)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# OpenCV drawing functions take integer points with this many fractional bits.
CV_SHIFT = 4


@dataclass(frozen=True)
class EnuGrid:
    """A ``height_px x width_px`` raster, north-west corner at ``(east_min_m, north_max_m)``.

    Attributes:
        east_min_m: ENU east of the raster's west edge, metres.
        north_max_m: ENU north of the raster's north edge, metres.
        res_m: edge length of one (square) cell, metres per pixel.
        width_px: number of columns (east).
        height_px: number of rows (south).
    """

    east_min_m: float
    north_max_m: float
    res_m: float
    width_px: int
    height_px: int

    @classmethod
    def centered(cls, size_m: float, res_m: float) -> EnuGrid:
        """A square grid of about ``size_m`` metres centred on the ENU origin (the datum)."""
        n = int(round(size_m / res_m))
        half = n * res_m / 2.0
        return cls(-half, half, float(res_m), n, n)

    @property
    def shape(self) -> tuple[int, int]:
        return self.height_px, self.width_px

    @property
    def size_m(self) -> tuple[float, float]:
        """``(east, north)`` extent in metres."""
        return self.width_px * self.res_m, self.height_px * self.res_m

    def enu_to_px(self, east_m: np.ndarray, north_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """ENU metres -> corner-based raster pixel ``(u, v)`` (float, may lie outside)."""
        u = (np.asarray(east_m, np.float64) - self.east_min_m) / self.res_m
        v = (self.north_max_m - np.asarray(north_m, np.float64)) / self.res_m
        return u, v

    def px_to_enu(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Corner-based raster pixel ``(u, v)`` -> ENU ``(east_m, north_m)``."""
        east = self.east_min_m + np.asarray(u, np.float64) * self.res_m
        north = self.north_max_m - np.asarray(v, np.float64) * self.res_m
        return east, north

    def enu_to_index(
        self, east_m: np.ndarray, north_m: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """ENU metres -> integer ``(row, col)`` of the containing cell, clipped into the raster."""
        u, v = self.enu_to_px(east_m, north_m)
        col = np.clip(np.floor(u), 0, self.width_px - 1).astype(np.intp)
        row = np.clip(np.floor(v), 0, self.height_px - 1).astype(np.intp)
        return row, col

    def enu_to_flat_index(self, east_m: np.ndarray, north_m: np.ndarray) -> np.ndarray:
        """ENU metres -> flat index ``row * width_px + col`` of the cell; -1 outside the raster.

        Computes in the inputs' float precision (float32 keeps ~0.1 mm at a few km).
        """
        east = np.asarray(east_m)
        dtype = east.dtype if east.dtype == np.float32 else np.float64
        inv = dtype.type(1.0 / self.res_m)
        col = np.floor((east - dtype.type(self.east_min_m)) * inv).astype(np.intp)
        row = np.floor((dtype.type(self.north_max_m) - np.asarray(north_m)) * inv).astype(np.intp)
        inside = (col >= 0) & (row >= 0) & (col < self.width_px) & (row < self.height_px)
        return np.where(inside, row * self.width_px + col, -1)

    def cv_points(self, xy_enu_m: np.ndarray) -> np.ndarray:
        """``(N, 2)`` ENU metres -> ``(N, 2)`` int32 OpenCV points with ``CV_SHIFT`` bits.

        OpenCV puts integer coordinates at pixel centres, so half a pixel is subtracted.
        """
        xy = np.asarray(xy_enu_m, np.float64).reshape(-1, 2)
        u, v = self.enu_to_px(xy[:, 0], xy[:, 1])
        pts = np.stack([u - 0.5, v - 0.5], axis=1) * (1 << CV_SHIFT)
        return np.round(pts).astype(np.int32)

    def px_len(self, length_m: float) -> float:
        """A length in metres as raster pixels."""
        return float(length_m) / self.res_m
