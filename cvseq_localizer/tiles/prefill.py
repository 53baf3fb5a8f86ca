"""Pre-fill an MBTiles file for offline use: the tiles of a bounding box or along a route.

Routes come from GPX (``trkpt``/``rtept``/``wpt``) or CSV files (a header with ``lat``/
``latitude`` and ``lon``/``lng``/``longitude`` columns, degrees).
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import logging
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cvseq_localizer.geo import ground_resolution, latlon_to_world_px
from cvseq_localizer.tiles.base import TileError, TileNotFound, TileSource, encode_tile
from cvseq_localizer.tiles.mbtiles import MBTilesWriter

log = logging.getLogger(__name__)
Tile = tuple[int, int, int]


def read_route(path: str | Path) -> np.ndarray:
    """``(N, 2)`` array of ``(lat_deg, lon_deg)`` from a GPX or CSV file."""
    path = Path(path)
    if path.suffix.lower() == '.gpx':
        root = ET.parse(path).getroot()
        points = [
            (float(el.get('lat')), float(el.get('lon')))
            for el in root.iter()
            if el.tag.rsplit('}', 1)[-1] in ('trkpt', 'rtept', 'wpt')
        ]
    else:
        with path.open(newline='') as f:
            reader = csv.DictReader(f)
            names = {n.strip().lower(): n for n in reader.fieldnames or []}
            lat = next((names[n] for n in ('lat', 'latitude', 'lat_deg') if n in names), None)
            lon = next(
                (names[n] for n in ('lon', 'lng', 'longitude', 'lon_deg') if n in names), None
            )
            if lat is None or lon is None:
                raise ValueError(f'{path}: CSV needs lat/latitude and lon/lng/longitude columns')
            points = [(float(r[lat]), float(r[lon])) for r in reader]
    if not points:
        raise ValueError(f'{path}: no route points found')
    return np.asarray(points, np.float64)


def _tile_range(lo: float, hi: float, tile_world_px: float, n_tiles: int) -> range:
    return range(max(int(lo // tile_world_px), 0), min(int(hi // tile_world_px), n_tiles - 1) + 1)


def bbox_tiles(
    west: float, south: float, east: float, north: float, zoom: int, tile_px: int = 256
) -> list[Tile]:
    """XYZ tiles of ``tile_px`` pixels at ``zoom`` covering a box in degrees."""
    if west >= east or south >= north:
        raise ValueError(
            f'bbox ({west}, {south}, {east}, {north}) needs west < east, south < north'
        )
    ratio = tile_px // 256
    wz = zoom + ratio.bit_length() - 1
    x0, y0 = latlon_to_world_px(north, west, wz)
    x1, y1 = latlon_to_world_px(south, east, wz)
    n = 1 << zoom
    cols = _tile_range(float(x0), float(x1), tile_px, n)
    rows = _tile_range(float(y0), float(y1), tile_px, n)
    return [(zoom, x, y) for y in rows for x in cols]


def route_tiles(route: np.ndarray, buffer_m: float, zoom: int, tile_px: int = 256) -> list[Tile]:
    """XYZ tiles within ``buffer_m`` metres (per axis) of a ``(N, 2)`` lat/lon polyline."""
    if buffer_m < 0:
        raise ValueError(f'buffer {buffer_m} m must be >= 0')
    wz = zoom + (tile_px // 256).bit_length() - 1
    xs, ys = latlon_to_world_px(route[:, 0], route[:, 1], wz)
    tiles: set[Tile] = set()
    n = 1 << zoom
    for i in range(len(route)):
        j = min(i + 1, len(route) - 1)
        east_m, north_m = ground_resolution(float(route[i, 0]), wz)
        bx, by = buffer_m / east_m, buffer_m / north_m
        # Densify so consecutive samples are at most half a tile apart.
        steps = max(1, math.ceil(math.hypot(xs[j] - xs[i], ys[j] - ys[i]) / (tile_px / 2)))
        for t in np.linspace(0.0, 1.0, steps + 1):
            x, y = xs[i] + t * (xs[j] - xs[i]), ys[i] + t * (ys[j] - ys[i])
            for ty in _tile_range(y - by, y + by, tile_px, n):
                tiles.update((zoom, tx, ty) for tx in _tile_range(x - bx, x + bx, tile_px, n))
    return sorted(tiles)


@dataclass
class PrefillStats:
    """Counts of a pre-fill run."""

    requested: int = 0
    skipped_existing: int = 0
    written: int = 0
    not_found: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _tile_bytes(source: TileSource, tile: Tile) -> bytes:
    fetch_bytes = getattr(source, 'fetch_bytes', None)
    return fetch_bytes(*tile) if fetch_bytes else encode_tile(source.fetch(*tile))


def prefill(
    source: TileSource,
    out: str | Path,
    tiles: Iterable[Tile],
    workers: int = 4,
    name: str = 'cvseq_localizer tiles',
    progress: Callable[[int], None] | None = None,
) -> PrefillStats:
    """Fetch ``tiles`` from ``source`` into the MBTiles file ``out`` (resumes: stored tiles are
    skipped). ``progress(n)`` is called with the number of tiles just handled."""
    tiles = list(tiles)
    stats = PrefillStats(requested=len(tiles))
    fmt = None if hasattr(source, 'fetch_bytes') else 'png'  # server bytes: sniffed at close
    with MBTilesWriter(out, name=name, fmt=fmt) as writer:
        todo = [t for t in tiles if not writer.has(*t)]
        stats.skipped_existing = len(tiles) - len(todo)
        if progress and stats.skipped_existing:
            progress(stats.skipped_existing)
        with cf.ThreadPoolExecutor(max(1, workers), thread_name_prefix='prefill') as pool:
            futures = {pool.submit(_tile_bytes, source, t): t for t in todo}
            for future in cf.as_completed(futures):
                _store(writer, futures[future], future, stats)
                if progress:
                    progress(1)
    return stats


def _store(writer: MBTilesWriter, tile: Tile, future: cf.Future, stats: PrefillStats) -> None:
    try:
        writer.put(*tile, future.result())
        stats.written += 1
    except TileNotFound:
        stats.not_found += 1
    except TileError as err:
        stats.failed += 1
        if len(stats.errors) < 10:
            stats.errors.append(str(err))
