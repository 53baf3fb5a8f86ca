"""What the Localizer needs from a satellite tile provider (``SatelliteTileService`` is one).

The provider owns the tile deadline (its config's ``deadline_s``); the Localizer owns the
staleness policy (it keeps its current tile whenever an answer is not fresh, i.e. has a
``reason``), so a provider's own stale answers are never used as new tiles.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class CoveringAnswer(Protocol):
    """Answer of :meth:`TileProvider.covering`.

    ``geo`` is the tile's ``GeoImage`` or ``None``; ``cell_index`` the lattice ``(row, col)`` of
    its centre (row grows south, col east); ``reason`` is empty for a fresh tile, else why it is
    stale or missing.
    """

    geo: Any
    cell_index: tuple[int, int]
    reason: str


@runtime_checkable
class TileProvider(Protocol):
    """Grid-snapped satellite tiles around positions (degrees)."""

    @property
    def ground_m(self) -> float:
        """Ground size of one tile edge, m."""

    def covering(self, lat_deg: float, lon_deg: float) -> CoveringAnswer:
        """The tile covering a position, waiting at most the provider's own deadline."""

    def prefetch(self, lat_deg: float, lon_deg: float) -> None:
        """Queue the imagery around a position without waiting."""

    def health(self) -> Any:
        """A frozen snapshot of the provider's counters (for diagnostics)."""

    def close(self) -> None:
        """Stop background work (idempotent)."""
