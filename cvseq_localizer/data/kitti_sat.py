"""Satellite providers for KITTI-CVL: ``(lat_deg, lon_deg) -> GeoImage``.

* :class:`KittiSatMaps` reads the KITTI-CVL per-frame maps
  ``<sat_root>/<date>/<drive>/<frame>.png`` (1280 px,
  centred at the frame's GPS position). Georeference assumption: Google Static Maps rendering
  at ``zoom`` 18 with ``scale`` 2, i.e. one image pixel spans half a world pixel at zoom 18
  (~0.196 m/px at Karlsruhe's 49 deg N, the ~0.2 m/px of the paper). ``for_frame`` binds a
  frame and returns the ``(lat, lon) -> GeoImage`` function.
* :class:`TileServiceSatProvider` asks any object with ``covering(lat, lon, deadline_s=None)``
  returning something with ``.geo`` (e.g. ``tiles.SatelliteTileService``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cvseq_localizer.data.images import read_rgb
from cvseq_localizer.geo import GeoImage

log = logging.getLogger(__name__)

SatProvider = Callable[[float, float], GeoImage]


class KittiSatMaps:
    """KITTI-CVL satellite maps on disk, one per camera frame.

    Args:
        sat_root: folder holding ``<date>/<drive>/<frame>.png``.
        zoom: Web Mercator zoom the maps were rendered at.
        static_scale: image pixels per world pixel (Static Maps ``scale``).
    """

    def __init__(self, sat_root: str | Path, zoom: int = 18, static_scale: float = 2.0) -> None:
        self.sat_root = Path(sat_root)
        self.zoom = int(zoom)
        self.static_scale = float(static_scale)

    def path(self, date: str, drive: str, frame: str) -> Path:
        return self.sat_root / date / drive / f'{frame}.png'

    def read(self, date: str, drive: str, frame: str, lat_deg: float, lon_deg: float) -> GeoImage:
        """The frame's map, centred at ``(lat_deg, lon_deg)`` (the frame's GPS position)."""
        image = read_rgb(self.path(date, drive, frame))
        step = 1.0 / self.static_scale
        return GeoImage.centered(image, lat_deg, lon_deg, self.zoom, (step, step))

    def for_frame(self, date: str, drive: str, frame: str) -> SatProvider:
        """``(lat, lon) -> GeoImage`` reading this frame's map centred at the given position."""
        return lambda lat_deg, lon_deg: self.read(date, drive, frame, lat_deg, lon_deg)


class TileServiceSatProvider:
    """Satellite tiles from a tile service (``covering(lat, lon, deadline_s=...).geo``).

    Args:
        service: e.g. ``SatelliteTileService``; its tiles are lattice-snapped, not centred.
        deadline_s: wait per request in seconds; ``None`` blocks until the tile is assembled.
    """

    def __init__(self, service: Any, deadline_s: float | None = None) -> None:
        self.service = service
        self.deadline_s = deadline_s

    def __call__(self, lat_deg: float, lon_deg: float) -> GeoImage:
        answer = self.service.covering(lat_deg, lon_deg, deadline_s=self.deadline_s)
        if answer.geo is None:
            reason = getattr(answer, 'reason', '') or 'no tile'
            raise RuntimeError(f'no satellite tile for ({lat_deg:.7f}, {lon_deg:.7f}): {reason}')
        return answer.geo
