"""``TileKeeper``: the Localizer's current satellite tile, its encoded features and staleness.

The stale-tile policy lives here and only here: the current tile keeps serving while the query
stays near its centre; beyond that the provider's fresh answer replaces it, and without a fresh
answer (not ready within the provider's deadline, or not in the source) the current tile keeps
serving while the query stays within ``stale_tile_max_fraction`` of the tile size from its
centre, and no tile serves beyond that (``None`` before the first tile).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from cvseq_localizer.geo import GeoImage, LocalFrame
from cvseq_localizer.runtime.engine import InferenceEngine
from cvseq_localizer.tile_provider import CoveringAnswer, TileProvider

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TileState:
    """A tile on the provider's lattice, ready for the engine."""

    cell_index: tuple[int, int]
    geo: GeoImage
    center_enu_m: np.ndarray  # (2,) tile centre in the Localizer's ENU frame
    sat_feats: Any  # the engine's encoding of ``geo.image``


class TileKeeper:
    """Chooses, encodes and keeps the tile frames run against (see the module docstring).

    ``config`` needs ``recenter_fraction`` (re-centre when the query is farther than this
    fraction of the tile size from its centre, per axis) and ``stale_tile_max_fraction`` (how
    far a tile that could not be replaced still serves).
    """

    def __init__(self, config: Any, engine: InferenceEngine, tiles: TileProvider) -> None:
        self.recenter_fraction = float(config.recenter_fraction)
        self.stale_max_fraction = max(float(config.stale_tile_max_fraction),
                                      self.recenter_fraction)  # fmt: skip
        self.engine = engine
        self.tiles = tiles
        self.tile: TileState | None = None
        self.tiles_encoded = 0
        self.last_reason = ''

    def prefetch(self, lat_deg: float, lon_deg: float) -> None:
        """Warm the provider around a fix, once the first tile anchored its lattice (the lattice
        is anchored at the first covering query; an earlier prefetch would anchor it elsewhere)."""
        if self.tile is not None:
            self.tiles.prefetch(lat_deg, lon_deg)

    def forget(self) -> None:
        """Drop the tile (the ENU frame it was expressed in is gone)."""
        self.tile = None

    def select(
        self,
        query_enu_m: np.ndarray,
        frame: LocalFrame,
        on_shift: Callable[[int, int], None],
    ) -> TileState | None:
        """The tile to run on for a query position (ENU m), encoding a new one in place;
        ``on_shift(d_row, d_col)`` is called when the tile moves by whole lattice cells (rows
        south, columns east)."""
        tile, new = self.choose(query_enu_m, frame)
        if new is None:
            return tile
        return self.install(new, self.engine.encode_satellite(new.geo.image), frame, on_shift)

    def choose(
        self, query_enu_m: np.ndarray, frame: LocalFrame
    ) -> tuple[TileState | None, CoveringAnswer | None]:
        """``(current tile, None)`` when it keeps serving, ``(None, None)`` when no tile
        serves the query, else ``(current tile, the covering to encode and install)``. Cheap:
        callers encode the new tile outside their lock."""
        stale = self.tile
        if self.tile is not None:
            off = float(np.max(np.abs(query_enu_m - self.tile.center_enu_m)))
            if off <= self.recenter_fraction * float(self.tiles.ground_m):
                return self.tile, None
            if off > self.stale_max_fraction * float(self.tiles.ground_m):
                stale = None  # the car is near or beyond the tile's edge
        lat, lon, _ = frame.to_geodetic(query_enu_m[0], query_enu_m[1])
        covering = self.tiles.covering(float(lat), float(lon))
        self.last_reason = covering.reason
        if covering.geo is None or covering.reason:
            return stale, None
        if self.tile is not None and tuple(covering.cell_index) == self.tile.cell_index:
            return self.tile, None
        return self.tile, covering

    def install(
        self,
        covering: CoveringAnswer,
        sat_feats: Any,
        frame: LocalFrame,
        on_shift: Callable[[int, int], None],
    ) -> TileState:
        """Make an encoded covering the current tile (shifting the hidden state by whole cells)."""
        geo = covering.geo
        clat, clon = geo.center_latlon
        e, n, _ = frame.to_enu(clat, clon)
        self.tiles_encoded += 1
        index = (int(covering.cell_index[0]), int(covering.cell_index[1]))
        if self.tile is not None:
            on_shift(index[0] - self.tile.cell_index[0], index[1] - self.tile.cell_index[1])
        self.tile = TileState(index, geo, np.array([float(e), float(n)]), sat_feats)
        return self.tile
