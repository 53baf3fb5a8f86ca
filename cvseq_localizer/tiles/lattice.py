"""The grid lattice that covering tiles snap to, and the source tiles a covering tile needs.

One lattice per service: at ``ref_lat_deg`` a grid cell of ``ground_m / grid_n`` metres is
``step_x`` x ``step_y`` world pixels (exact WGS84 resolution per axis). Tile centres sit on lattice
nodes ``(col * step_x, row * step_y)``, so two covering tiles always differ by whole cells: moving
from tile A to tile B shifts the grid by ``(B.row - A.row, B.col - A.col)`` cells (row grows south,
col east). The step is fixed in world pixels, so the metric cell size drifts with the Mercator
scale (about 0.2 % per 10 km north-south at 49 deg).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cvseq_localizer.geo import GeoImage, ground_resolution, latlon_to_world_px


@dataclass(frozen=True)
class Lattice:
    """Attributes:
    zoom: world-pixel zoom of the source's pixels (tile zoom + log2(tile_px / 256)).
    step_x, step_y: world pixels per grid cell, east and south.
    grid_n: cells per tile edge.
    tile_px: output tile edge in pixels.
    """

    zoom: int
    step_x: float
    step_y: float
    grid_n: int
    tile_px: int

    @classmethod
    def at(cls, ref_lat_deg: float, zoom: int, ground_m: float, grid_n: int, tile_px: int):
        """Lattice whose cells are ``ground_m / grid_n`` metres at ``ref_lat_deg``."""
        if not (ground_m > 0 and grid_n > 0 and tile_px > 0):
            raise ValueError(
                f'ground_m={ground_m}, grid_n={grid_n}, tile_px={tile_px} must be > 0'
            )
        east_m, north_m = ground_resolution(ref_lat_deg, zoom)
        cell_m = ground_m / grid_n
        return cls(int(zoom), cell_m / east_m, cell_m / north_m, int(grid_n), int(tile_px))

    @property
    def scale(self) -> tuple[float, float]:
        """World pixels per output pixel ``(x, y)``."""
        return (self.step_x * self.grid_n / self.tile_px, self.step_y * self.grid_n / self.tile_px)

    def cell_of(self, lat_deg: float, lon_deg: float) -> tuple[int, int]:
        """``(row, col)`` of the lattice node nearest to the position."""
        x, y = latlon_to_world_px(lat_deg, lon_deg, self.zoom)
        return int(np.round(y / self.step_y)), int(np.round(x / self.step_x))

    def origin(self, cell: tuple[int, int]) -> tuple[float, float]:
        """World pixel of the top-left corner of the tile centred on ``cell``."""
        sx, sy = self.scale
        row, col = cell
        half = self.tile_px / 2
        return col * self.step_x - half * sx, row * self.step_y - half * sy

    def geo(self, cell: tuple[int, int], image: np.ndarray) -> GeoImage:
        """The ``GeoImage`` of the output tile centred on ``cell`` with pixels ``image``."""
        return GeoImage(image, self.zoom, self.origin(cell), self.scale)

    def source_tiles(
        self, cell: tuple[int, int], source_px: int, radius_cells: int = 0
    ) -> tuple[range, range]:
        """Column and row ranges of ``source_px`` tiles needed for the tile on ``cell``.

        ``radius_cells`` widens the footprint by that many cells on every side (prefetch). One
        extra world pixel on each side feeds the interpolation kernel.
        """
        x0, y0 = self.origin(cell)
        sx, sy = self.scale
        mx, my = radius_cells * self.step_x + 1.0, radius_cells * self.step_y + 1.0
        x1, y1 = x0 + self.tile_px * sx, y0 + self.tile_px * sy
        n = 1 << self.zoom  # world tiles of 256 px; source tiles hold source_px / 256 of them
        last = n * 256 // source_px - 1
        cols = _clamped(math.floor((x0 - mx) / source_px), math.floor((x1 + mx) / source_px), last)
        rows = _clamped(math.floor((y0 - my) / source_px), math.floor((y1 + my) / source_px), last)
        return cols, rows


def _clamped(lo: int, hi: int, last: int) -> range:
    return range(max(lo, 0), min(hi, last) + 1)
