"""``SatelliteTileService``: the grid-snapped satellite tile covering a position.

Source tiles are fetched on background worker threads (``ThreadPoolExecutor``) into an in-memory
LRU of decoded tiles; every query also queues the tiles around it (prefetch). ``covering`` waits
at most ``deadline_s`` for the tiles it needs, then returns the new tile, or the previous tile
(or ``None``) with a reason. ``deadline_s=None`` blocks until the tile is assembled, which makes
offline replay and training deterministic.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from cvseq_localizer.geo import GeoImage
from cvseq_localizer.logutil import WarnThrottle
from cvseq_localizer.tiles.base import TileNotFound, TileSource
from cvseq_localizer.tiles.lattice import Lattice
from cvseq_localizer.tiles.resample import resample

log = logging.getLogger(__name__)
_KEEP = object()  # sentinel: "use the config's deadline"
_MAX_FAILED = 8192  # failed tile keys remembered for back-off (oldest forgotten first)


@dataclass(frozen=True)
class TileServiceConfig:
    """Settings of a ``SatelliteTileService``.

    Attributes:
        zoom: source tile zoom level (19-20 for ~0.3-0.15 m/px imagery; a 512-px source at zoom
            19 has the pixel size of a 256-px source at zoom 20).
        tile_px: output tile edge in pixels.
        ground_m: output tile edge on the ground in metres (at ``ref_lat_deg``).
        grid_n: grid cells per tile edge; tile centres snap to a lattice of one cell.
        deadline_s: default wait of ``covering`` in seconds; ``None`` blocks until assembled.
        prefetch_radius_cells: source tiles within this many cells around every queried tile
            are fetched in the background.
        ref_lat_deg: latitude (deg) where the lattice's cell is exactly ``ground_m / grid_n``
            metres; ``None``: the first query's latitude.
        workers: background fetch threads.
        memory_tiles: decoded source tiles kept in memory (a 256-px tile is 192 KiB).
        retry_after_s: a tile whose fetch failed (server fault, timeout) is first retried after
            this many seconds; every further failure doubles the wait (back-off).
        missing_retry_s: the same for a tile the source said it does not have (HTTP 404, not in
            the MBTiles file): a server in an outage may answer 404, so it is retried too.
        retry_max_s: the longest wait between two attempts at one tile.
    """

    zoom: int = 20
    tile_px: int = 256
    ground_m: float = 72.0
    grid_n: int = 32
    deadline_s: float | None = 0.02
    prefetch_radius_cells: int = 16
    ref_lat_deg: float | None = None
    workers: int = 2
    memory_tiles: int = 512
    retry_after_s: float = 2.0
    missing_retry_s: float = 5.0
    retry_max_s: float = 60.0


@dataclass(frozen=True)
class CoveringTile:
    """Answer of ``SatelliteTileService.covering``.

    Attributes:
        geo: the output tile (``tile_px`` square RGB, exact georeference) or ``None``.
        cell_index: lattice ``(row, col)`` of ``geo``'s centre (row grows south, col east); for
            a stale answer the previous tile's cell, for ``None`` the requested cell.
        reason: empty for a fresh tile; otherwise why ``geo`` is ``None`` or stale.
        requested_cell: lattice ``(row, col)`` of the queried position.
    """

    geo: GeoImage | None
    cell_index: tuple[int, int]
    reason: str = ''
    requested_cell: tuple[int, int] = (0, 0)

    @property
    def fresh(self) -> bool:
        return self.geo is not None and not self.reason


@dataclass(frozen=True)
class TileServiceHealth:
    """Counts of ``SatelliteTileService``'s caches (source tiles in memory, fetches queued or
    running, failed and missing source tiles, assembled output tiles)."""

    memory_tiles: int
    pending_fetches: int
    failed_tiles: int
    missing_tiles: int
    assembled_tiles: int


class SatelliteTileService:
    """Covering tiles for positions, snapped to a fixed lattice, fetched in the background.

    Owns ``source`` (closes it in ``close``). Use as a context manager or call ``close()``; no
    thread outlives it (in-flight fetches end within the source's timeout).
    """

    def __init__(self, source: TileSource, config: TileServiceConfig | None = None) -> None:
        self.source = source
        self.config = config or TileServiceConfig()
        ratio = source.tile_px // 256
        self._world_zoom = self.config.zoom + ratio.bit_length() - 1
        self._lattice: Lattice | None = None
        if self.config.ref_lat_deg is not None:
            self._lattice = self._make_lattice(self.config.ref_lat_deg)
        self._lock = threading.Lock()
        self._query_lock = threading.Lock()
        self._memory: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._pending: dict[tuple, cf.Future] = {}
        # key -> (monotonic time of the last failure, reason, failures in a row, not found)
        self._failed: dict[tuple, tuple[float, str, int, bool]] = {}
        self._assembled: OrderedDict[tuple[int, int], GeoImage] = OrderedDict()
        self._last: CoveringTile | None = None
        self._prefetched_cell: tuple[int, int] | None = None
        self._assemble_s = 0.005  # running estimate, kept out of the caller's deadline
        self._warn = WarnThrottle(log, 10.0)
        self._executor = cf.ThreadPoolExecutor(self.config.workers, thread_name_prefix='tiles')
        self._closed = False

    # --------------------------------------------------------------------------------- public
    @property
    def ground_m(self) -> float:
        """Ground size of one output tile edge, m (the ``TileProvider`` protocol)."""
        return float(self.config.ground_m)

    def health(self) -> TileServiceHealth:
        """A snapshot of the caches and fetches (the ``TileProvider`` protocol)."""
        with self._lock:
            return TileServiceHealth(
                memory_tiles=len(self._memory),
                pending_fetches=len(self._pending),
                failed_tiles=sum(1 for f in self._failed.values() if not f[3]),
                missing_tiles=sum(1 for f in self._failed.values() if f[3]),
                assembled_tiles=len(self._assembled),
            )

    @property
    def lattice(self) -> Lattice | None:
        """The lattice (``None`` until the first query when ``ref_lat_deg`` is not set)."""
        return self._lattice

    def covering(
        self, lat_deg: float, lon_deg: float, deadline_s: float | None | object = _KEEP
    ) -> CoveringTile:
        """The tile centred on the lattice node nearest to ``(lat_deg, lon_deg)`` (degrees).

        Waits at most ``deadline_s`` seconds (default: the config's; ``None``: until done).
        If the tile is not ready, returns the previous tile while it still contains the
        position, else ``None``, with the reason. Safe to call from several threads (calls are
        serialised).
        """
        with self._query_lock:
            return self._covering(lat_deg, lon_deg, deadline_s)

    def _covering(self, lat_deg, lon_deg, deadline_s) -> CoveringTile:
        if self._closed:
            raise RuntimeError('SatelliteTileService is closed')
        deadline = self.config.deadline_s if deadline_s is _KEEP else deadline_s
        t0 = time.monotonic()
        if self._lattice is None:
            self._lattice = self._make_lattice(lat_deg)
        cell = self._lattice.cell_of(lat_deg, lon_deg)
        geo = self._assembled.get(cell)
        if geo is None:
            geo, problem = self._build(cell, deadline, t0)
            if geo is None:
                return self._fallback(cell, problem)
        self._assembled.move_to_end(cell)
        self._last = CoveringTile(geo, cell, '', cell)
        return self._last

    def prefetch(self, lat_deg: float, lon_deg: float) -> None:
        """Queue the source tiles around a position (degrees) without waiting."""
        with self._query_lock:
            if self._lattice is None:
                self._lattice = self._make_lattice(lat_deg)
            self._prefetch(self._lattice.cell_of(lat_deg, lon_deg))

    def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Wait until no fetch is queued or running; ``True`` if idle in time."""
        end = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            with self._lock:
                futures = list(self._pending.values())
            if not futures:
                return True
            left = None if end is None else max(0.0, end - time.monotonic())
            cf.wait(futures, timeout=left)
            if end is not None and time.monotonic() >= end:
                with self._lock:
                    return not self._pending

    def close(self) -> None:
        """Cancel queued fetches, join the workers and close the source (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)
        self.source.close()

    def __enter__(self) -> SatelliteTileService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------- assembly
    def _make_lattice(self, ref_lat_deg: float) -> Lattice:
        c = self.config
        return Lattice.at(ref_lat_deg, self._world_zoom, c.ground_m, c.grid_n, c.tile_px)

    def _keys(self, cell: tuple[int, int], radius_cells: int = 0) -> list[tuple[int, int, int]]:
        cols, rows = self._lattice.source_tiles(cell, self.source.tile_px, radius_cells)
        return [(self.config.zoom, x, y) for y in rows for x in cols]

    def _build(self, cell, deadline, t0) -> tuple[GeoImage | None, str]:
        """Fetch (within the deadline) and assemble the tile on ``cell``; or ``None`` + reason."""
        keys = self._keys(cell)
        got = {key: self._request(key) for key in keys}
        self._prefetch(cell)
        futures = [f for f in got.values() if isinstance(f, cf.Future)]
        if futures:
            wait = None if deadline is None else deadline - (time.monotonic() - t0)
            cf.wait(futures, timeout=None if wait is None else max(0.0, wait - self._assemble_s))
        tiles, problems = {}, []
        for key, item in got.items():
            if isinstance(item, cf.Future):
                item = _outcome(item)
            if isinstance(item, np.ndarray):
                tiles[key] = item
            else:
                problems.append(f'{"/".join(map(str, key))}: {item}')
        if problems:
            return None, f'{len(problems)}/{len(keys)} source tiles not ready ({problems[0]})'
        t1 = time.monotonic()
        geo = self._assemble(cell, keys, tiles)
        self._assemble_s = 0.8 * self._assemble_s + 0.2 * (time.monotonic() - t1)
        return geo, ''

    def _assemble(self, cell, keys, tiles) -> GeoImage:
        px = self.source.tile_px
        x0, y0 = keys[0][1], keys[0][2]
        nx, ny = keys[-1][1] - x0 + 1, keys[-1][2] - y0 + 1
        mosaic = np.empty((ny * px, nx * px, 3), np.uint8)
        for (_, x, y), tile in tiles.items():
            mosaic[(y - y0) * px : (y - y0 + 1) * px, (x - x0) * px : (x - x0 + 1) * px] = tile
        lat = self._lattice
        image = resample(mosaic, (x0 * px, y0 * px), lat.origin(cell), lat.scale, lat.tile_px)
        image.flags.writeable = False
        geo = lat.geo(cell, image)
        self._assembled[cell] = geo
        while len(self._assembled) > 16:
            self._assembled.popitem(last=False)
        return geo

    def _fallback(self, cell: tuple[int, int], problem: str) -> CoveringTile:
        last = self._last
        if last is not None:
            half = self.config.grid_n / 2
            drow, dcol = cell[0] - last.cell_index[0], cell[1] - last.cell_index[1]
            if abs(drow) < half and abs(dcol) < half:
                return CoveringTile(last.geo, last.cell_index, f'stale: {problem}', cell)
        return CoveringTile(None, cell, problem, cell)

    # -------------------------------------------------------------------------------- fetching
    def _request(self, key: tuple) -> np.ndarray | cf.Future | str:
        """The tile if in memory, else its (possibly new) future, else why it is unavailable."""
        with self._lock:
            tile = self._memory.get(key)
            if tile is not None:
                self._memory.move_to_end(key)
                return tile
            failed = self._failed.get(key)
            if failed:
                wait_s = self._retry_wait_s(failed)
                if time.monotonic() - failed[0] < wait_s:
                    if failed[3]:
                        return f'not in the source (retry in {wait_s:g} s)'
                    return f'failed, retry in {wait_s:g} s: {failed[1]}'
            future = self._pending.get(key)
            if future is None and not self._closed:
                future = self._executor.submit(self._load, key)
                self._pending[key] = future
            return future if future is not None else 'service closed'

    def _prefetch(self, cell: tuple[int, int]) -> None:
        """Queue tiles within ``prefetch_radius_cells`` of ``cell``, nearest first; drop queued
        fetches that fell out of that window."""
        if cell == self._prefetched_cell or self.config.prefetch_radius_cells <= 0:
            return
        self._prefetched_cell = cell
        keys = self._keys(cell, self.config.prefetch_radius_cells)
        wanted = set(keys)
        with self._lock:
            for key, future in list(self._pending.items()):
                if key not in wanted and future.cancel():
                    del self._pending[key]
        cx, cy = np.mean([k[1] for k in keys]), np.mean([k[2] for k in keys])
        for key in sorted(keys, key=lambda k: (k[1] - cx) ** 2 + (k[2] - cy) ** 2):
            self._request(key)

    def _load(self, key: tuple) -> np.ndarray:
        """Worker: fetch one source tile into memory (exceptions travel in the future)."""
        try:
            tile = self.source.fetch(*key)
        except TileNotFound as err:
            self._record_failure(key, str(err), missing=True)
            raise
        except Exception as err:  # any source fault: remember, warn (rate-limited), retry later
            self._record_failure(key, str(err), missing=False)
            self._warn.warn('fetch', 'tile %s from %s failed: %s', key, self.source.name, err)
            raise
        with self._lock:
            self._memory[key] = tile
            while len(self._memory) > self.config.memory_tiles:
                self._memory.popitem(last=False)
            self._failed.pop(key, None)
            self._pending.pop(key, None)
        return tile

    def _record_failure(self, key: tuple, reason: str, missing: bool) -> None:
        with self._lock:
            previous = self._failed.get(key)
            count = previous[2] + 1 if previous and previous[3] == missing else 1
            self._failed.pop(key, None)  # re-insert: the dict stays in failure order
            self._failed[key] = (time.monotonic(), reason, count, missing)
            while len(self._failed) > _MAX_FAILED:
                del self._failed[next(iter(self._failed))]
            self._pending.pop(key, None)

    def _retry_wait_s(self, failed: tuple[float, str, int, bool]) -> float:
        """Back-off: the base wait doubled per failure in a row, at most ``retry_max_s``."""
        c = self.config
        base = c.missing_retry_s if failed[3] else c.retry_after_s
        return min(c.retry_max_s, base * 2.0 ** min(failed[2] - 1, 30))


def _outcome(future: cf.Future) -> np.ndarray | str:
    """A finished future's tile, or why there is none."""
    if not future.done():
        return 'still loading'
    if future.cancelled():
        return 'cancelled'
    err = future.exception()
    if isinstance(err, TileNotFound):
        return 'not in the source'
    if err is not None:
        return f'failed: {err}'
    return future.result()
