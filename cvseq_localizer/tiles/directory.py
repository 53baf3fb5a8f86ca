"""A ``root/z/x/y.<ext>`` tile directory: a writer with atomic writes and a ``TileSource``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from cvseq_localizer.tiles.base import (
    FORMAT_EXT,
    TileError,
    TileNotFound,
    check_index,
    check_tile_px,
    decode_tile,
)

# Extensions a directory source looks for, in order.
READ_EXTS = ('png', 'jpg', 'jpeg', 'webp')


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one, never a part.

    Writes a temporary file in the same directory, fsyncs it and ``os.replace``-s it into place.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class DirectoryTileWriter:
    """Write encoded tiles as ``root/z/x/y.<ext>`` (XYZ rows, atomic per file)."""

    def __init__(self, root: str | Path, fmt: str = 'png') -> None:
        ext = FORMAT_EXT.get(fmt.lower())
        if ext is None:
            raise ValueError(f'unknown tile format {fmt!r}; use one of {sorted(FORMAT_EXT)}')
        self.root = Path(root)
        self.ext = ext
        self.root.mkdir(parents=True, exist_ok=True)

    def put(self, z: int, x: int, y: int, data: bytes) -> None:
        """Store ``data`` (encoded image bytes) as ``root/z/x/y.<ext>``."""
        check_index(z, x, y)
        atomic_write(self.root / str(z) / str(x) / f'{y}.{self.ext}', bytes(data))

    def close(self) -> None:
        """Nothing to flush (every ``put`` is durable); present for the writer protocol."""

    def __enter__(self) -> DirectoryTileWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DirectoryTileSource:
    """Read RGB tiles from ``root/z/x/y.<ext>`` (png, jpg, jpeg or webp; XYZ rows)."""

    def __init__(self, root: str | Path, tile_px: int = 256) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f'tile directory {self.root} does not exist')
        self.tile_px = check_tile_px(tile_px)
        self.name = f'dir:{self.root}'

    def fetch(self, z: int, x: int, y: int) -> np.ndarray:
        """XYZ tile ``(z, x, y)`` as ``tile_px x tile_px x 3`` uint8 RGB."""
        check_index(z, x, y)
        folder = self.root / str(z) / str(x)
        for ext in READ_EXTS:
            path = folder / f'{y}.{ext}'
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            except OSError as err:
                raise TileError(f'{self.name}: cannot read {path}: {err}') from err
            return decode_tile(data, self.tile_px, str(path))
        raise TileNotFound(f'{self.name}: no tile {z}/{x}/{y}')

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> DirectoryTileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
