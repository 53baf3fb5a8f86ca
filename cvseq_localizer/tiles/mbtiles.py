"""MBTiles (sqlite) tile storage: a writer and a ``TileSource`` reader.

Schema (MBTiles 1.3): ``metadata(name, value)`` and
``tiles(zoom_level, tile_column, tile_row, tile_data)`` with TMS rows (``2**z - 1 - y``, counted
from the south); the public API of this module speaks XYZ indices only.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

import numpy as np

from cvseq_localizer.geo import tms_row, world_px_to_latlon
from cvseq_localizer.geo.mercator import TILE_PX
from cvseq_localizer.tiles.base import (
    FORMAT_EXT,
    TileError,
    TileNotFound,
    check_index,
    check_tile_px,
    decode_tile,
)

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS metadata (name TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS tiles (
    zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
CREATE UNIQUE INDEX IF NOT EXISTS tile_index ON tiles (zoom_level, tile_column, tile_row);
"""


class MBTilesWriter:
    """Write encoded tiles into an MBTiles file (created if missing, appended to otherwise).

    ``put`` takes XYZ indices and PNG/JPEG bytes; a later ``put`` of the same index replaces the
    tile. ``close`` (or leaving the ``with`` block) commits and writes the metadata ``name``,
    ``format`` (``fmt=None``: detected from the stored bytes), ``type``, ``version``,
    ``minzoom``, ``maxzoom`` and ``bounds`` (degrees, ``west,south,east,north``) computed from
    all tiles in the file.
    """

    def __init__(
        self,
        path: str | Path,
        name: str = 'tiles',
        fmt: str | None = 'png',
        description: str = '',
    ) -> None:
        if fmt is not None and fmt.lower() not in FORMAT_EXT:
            raise ValueError(f'unknown MBTiles format {fmt!r}; use one of {sorted(FORMAT_EXT)}')
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._meta = {'name': name, 'type': 'baselayer'}
        if fmt is not None:
            self._meta['format'] = FORMAT_EXT[fmt.lower()]
        self._meta.update({'version': '1.0', 'description': description or name})
        self._db: sqlite3.Connection | None = sqlite3.connect(self.path)
        self._db.executescript(_SCHEMA)

    def put(self, z: int, x: int, y: int, data: bytes) -> None:
        """Store ``data`` (encoded image bytes) as XYZ tile ``(z, x, y)``."""
        check_index(z, x, y)
        if self._db is None:
            raise ValueError(f'MBTilesWriter({self.path}) is closed')
        self._db.execute(
            'INSERT OR REPLACE INTO tiles VALUES (?, ?, ?, ?)',
            (int(z), int(x), tms_row(y, z), sqlite3.Binary(bytes(data))),
        )

    def has(self, z: int, x: int, y: int) -> bool:
        """Whether XYZ tile ``(z, x, y)`` is already stored (to resume an interrupted fill)."""
        row = self._db.execute(
            'SELECT 1 FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?',
            (int(z), int(x), tms_row(y, z)),
        ).fetchone()
        return row is not None

    def close(self) -> None:
        """Write the metadata, commit and close (idempotent)."""
        if self._db is None:
            return
        meta = dict(self._meta)
        meta.update(_extent_metadata(self._db))
        if 'format' not in meta:
            meta['format'] = _sniff_format(self._db)
        self._db.executemany('INSERT OR REPLACE INTO metadata VALUES (?, ?)', meta.items())
        self._db.commit()
        self._db.close()
        self._db = None

    def __enter__(self) -> MBTilesWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _extent_metadata(db: sqlite3.Connection) -> dict[str, str]:
    """``minzoom``, ``maxzoom`` and ``bounds`` (degrees) of all tiles stored in ``db``."""
    rows = db.execute(
        'SELECT zoom_level, MIN(tile_column), MAX(tile_column), MIN(tile_row), MAX(tile_row) '
        'FROM tiles GROUP BY zoom_level'
    ).fetchall()
    if not rows:
        return {}
    west, south, east, north = 180.0, 90.0, -180.0, -90.0
    for z, x0, x1, r0, r1 in rows:
        # TMS rows count from the south: the largest row is the northernmost XYZ row.
        lat_n, lon_w = world_px_to_latlon(x0 * TILE_PX, tms_row(r1, z) * TILE_PX, z)
        lat_s, lon_e = world_px_to_latlon((x1 + 1) * TILE_PX, (tms_row(r0, z) + 1) * TILE_PX, z)
        west, east = min(west, float(lon_w)), max(east, float(lon_e))
        south, north = min(south, float(lat_s)), max(north, float(lat_n))
    return {
        'minzoom': str(min(r[0] for r in rows)),
        'maxzoom': str(max(r[0] for r in rows)),
        'bounds': f'{west:.8f},{south:.8f},{east:.8f},{north:.8f}',
    }


def _sniff_format(db: sqlite3.Connection) -> str:
    """Image format of a stored tile from its magic bytes ('png' if the file is empty)."""
    row = db.execute('SELECT substr(tile_data, 1, 12) FROM tiles LIMIT 1').fetchone()
    head = bytes(row[0]) if row else b''
    if head.startswith(b'\xff\xd8'):
        return 'jpg'
    if head.startswith(b'RIFF') and head[8:12] == b'WEBP':
        return 'webp'
    return 'png'


_TABLES = "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
_SQLITE_MAGIC = b'SQLite format 3\x00'


def check_sqlite_file(path: Path) -> None:
    """Raise ``TileError`` naming ``path`` if it is empty, not sqlite or cut short.

    sqlite opens such files without complaint and fails only on a later read (an empty file is
    an empty database); the header's page size and page count tell the file's full length
    (sqlite file format, section 1.3).
    """
    size = path.stat().st_size
    if size == 0:
        raise TileError(f'{path} is empty (0 bytes), not an MBTiles file')
    with path.open('rb') as f:
        head = f.read(100)
    if len(head) < 100 or not head.startswith(_SQLITE_MAGIC):
        raise TileError(f'{path} is not an MBTiles file (no sqlite header)')
    page_size = int.from_bytes(head[16:18], 'big')
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], 'big')
    if head[24:28] == head[92:96] and pages and size < page_size * pages:
        raise TileError(
            f'{path} is truncated: {size} bytes, its sqlite header says {page_size * pages}'
        )


class MBTilesSource:
    """Read RGB tiles from an MBTiles file (read-only, safe to share between threads).

    Args:
        path: the ``.mbtiles`` file.
        tile_px: tile edge in pixels; ``None`` reads the metadata key ``tilesize`` (default 256).
    """

    def __init__(self, path: str | Path, tile_px: int | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f'MBTiles file {self.path} does not exist')
        check_sqlite_file(self.path)
        uri = f'file:{self.path.resolve()}?mode=ro'
        try:
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            self.metadata = dict(self._db.execute('SELECT name, value FROM metadata'))
            tables = {row[0] for row in self._db.execute(_TABLES)}
            if 'tiles' not in tables:
                raise TileError(f'{self.path} is not an MBTiles file: it has no tiles table')
            self._db.execute(
                'SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles LIMIT 1'
            )
        except sqlite3.DatabaseError as err:
            raise TileError(f'{self.path} is not a readable MBTiles file: {err}') from err
        try:
            self.tile_px = check_tile_px(tile_px or int(self.metadata.get('tilesize', 256)))
        except ValueError as err:
            raise TileError(f'{self.path}: bad tile size in the metadata: {err}') from None
        self.name = f'mbtiles:{self.path}'
        self._lock = threading.Lock()

    def fetch(self, z: int, x: int, y: int) -> np.ndarray:
        """XYZ tile ``(z, x, y)`` as ``tile_px x tile_px x 3`` uint8 RGB."""
        check_index(z, x, y)
        with self._lock:
            try:
                row = self._db.execute(
                    'SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? '
                    'AND tile_row=?',
                    (z, x, tms_row(y, z)),
                ).fetchone()
            except sqlite3.Error as err:
                raise TileError(f'{self.name}: reading tile {z}/{x}/{y} failed: {err}') from err
        if row is None:
            raise TileNotFound(f'{self.name}: no tile {z}/{x}/{y}')
        return decode_tile(bytes(row[0]), self.tile_px, f'{self.name} tile {z}/{x}/{y}')

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> MBTilesSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
