"""A persistent, size-capped, self-checking tile cache in one sqlite file.

Hand-written rather than ``requests-cache`` because the tile service needs three things that
library does not give: a size cap with least-recently-used eviction, keys by tile index (so a
rotated API key or another mirror of the same imagery hits the same entries and no secret is ever
stored), and a checksum on every entry so that a corrupt entry is detected and refetched instead
of returned. sqlite makes every write atomic and is safe across threads and processes.

Mind the imagery provider's terms: some (e.g. Google, Esri) forbid persistent caching.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tiles (
    layer TEXT, z INTEGER, x INTEGER, y INTEGER, data BLOB, sha256 TEXT, size INTEGER,
    atime REAL, PRIMARY KEY (layer, z, x, y));
CREATE INDEX IF NOT EXISTS tiles_atime ON tiles (atime);
"""


class TileCache:
    """Encoded tile bytes keyed by ``(layer, z, x, y)``.

    Args:
        path: sqlite file (created with its folder).
        max_bytes: size cap of the stored tile data; the least recently used entries are evicted
            down to 90 % of it when a ``put`` exceeds it. ``None``: unbounded.
    """

    def __init__(self, path: str | Path, max_bytes: int | None = 2 * 1024**3) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=10.0)
        self._db.execute('PRAGMA journal_mode=WAL')
        self._db.executescript(_SCHEMA)
        self._total = int(
            self._db.execute('SELECT COALESCE(SUM(size), 0) FROM tiles').fetchone()[0]
        )

    @property
    def total_bytes(self) -> int:
        """Bytes of tile data currently stored."""
        return self._total

    def get(self, layer: str, z: int, x: int, y: int) -> bytes | None:
        """Stored bytes, or ``None`` if missing or corrupt (a corrupt entry is deleted)."""
        key = (layer, z, x, y)
        with self._lock:
            try:
                row = self._db.execute(
                    'SELECT data, sha256 FROM tiles WHERE layer=? AND z=? AND x=? AND y=?', key
                ).fetchone()
                if row is None:
                    return None
                data = bytes(row[0])
                if hashlib.sha256(data).hexdigest() != row[1]:
                    log.warning('cache %s: corrupt entry %s %d/%d/%d dropped', self.path, *key)
                    self._delete(key)
                    return None
                self._db.execute(
                    'UPDATE tiles SET atime=? WHERE layer=? AND z=? AND x=? AND y=?',
                    (time.time(), *key),
                )
                self._db.commit()
                return data
            except sqlite3.DatabaseError as err:
                log.warning('cache %s: read of %s %d/%d/%d failed: %s', self.path, *key, err)
                return None

    def put(self, layer: str, z: int, x: int, y: int, data: bytes) -> None:
        """Store ``data`` (already validated by the caller) and evict if over the cap."""
        key = (layer, z, x, y)
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            try:
                self._delete(key, commit=False)
                self._db.execute(
                    'INSERT INTO tiles VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
                    (*key, sqlite3.Binary(data), digest, len(data), time.time()),
                )
                self._db.commit()
                self._total += len(data)
                if self.max_bytes is not None and self._total > self.max_bytes:
                    self._evict(int(0.9 * self.max_bytes))
            except sqlite3.DatabaseError as err:
                log.warning('cache %s: write of %s %d/%d/%d failed: %s', self.path, *key, err)

    def discard(self, layer: str, z: int, x: int, y: int) -> None:
        """Remove one entry (e.g. bytes that no longer decode)."""
        with self._lock:
            self._delete((layer, z, x, y))

    def _delete(self, key: tuple, commit: bool = True) -> None:
        where = 'WHERE layer=? AND z=? AND x=? AND y=?'
        row = self._db.execute(f'SELECT size FROM tiles {where}', key).fetchone()
        if row is not None:
            self._db.execute(f'DELETE FROM tiles {where}', key)
            self._total -= int(row[0])
        if commit:
            self._db.commit()

    def _evict(self, target_bytes: int) -> None:
        """Delete least recently used entries until at most ``target_bytes`` remain."""
        rows = self._db.execute('SELECT rowid, size FROM tiles ORDER BY atime').fetchall()
        doomed = []
        for rowid, size in rows:
            if self._total <= target_bytes:
                break
            doomed.append((rowid,))
            self._total -= int(size)
        self._db.executemany('DELETE FROM tiles WHERE rowid=?', doomed)
        self._db.commit()
        log.info('cache %s: evicted %d tiles (cap %d bytes)', self.path, len(doomed), target_bytes)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> TileCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
