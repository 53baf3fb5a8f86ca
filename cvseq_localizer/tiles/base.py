"""The tile source/writer protocols, tile errors and PNG/JPEG coding shared by every source.

Tiles are addressed by XYZ indices ``(z, x, y)``: ``y`` grows south from the north edge of the
Web Mercator world (TMS rows are converted inside the MBTiles code only). A source returns
``tile_px x tile_px x 3`` uint8 RGB arrays.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from cvseq_localizer.image_header import compressed_size, image_kind, png_chunks_ok

# Largest source tile decoded (a 4096-px tile; real ones are 256 or 512).
MAX_TILE_PIXELS = 4096 * 4096
# Formats a writer accepts and the file extension each one uses.
FORMAT_EXT = {'png': 'png', 'jpg': 'jpg', 'jpeg': 'jpg', 'webp': 'webp'}


class TileError(RuntimeError):
    """A tile could not be delivered (server fault, timeout, corrupt data, offline miss...)."""


class TileNotFound(TileError):
    """The source has no tile at this index (HTTP 404, missing row or file)."""


class TileDecodeError(TileError):
    """The tile's bytes are not a decodable image of the expected size."""


@runtime_checkable
class TileSource(Protocol):
    """Anything that delivers RGB tiles by XYZ index.

    Attributes:
        tile_px: edge length of a tile in pixels (256 or 512).
        name: short human-readable description with secrets redacted (for logs).
    """

    tile_px: int
    name: str

    def fetch(self, z: int, x: int, y: int) -> np.ndarray:
        """``tile_px x tile_px x 3`` uint8 RGB; raises ``TileNotFound`` or ``TileError``."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class TileWriter(Protocol):
    """Anything that stores encoded tiles (PNG/JPEG bytes) by XYZ index."""

    def put(self, z: int, x: int, y: int, data: bytes) -> None: ...

    def close(self) -> None: ...


def check_index(z: int, x: int, y: int) -> None:
    """Raise ``ValueError`` if ``(z, x, y)`` is not a valid XYZ tile index."""
    if not 0 <= z <= 30:
        raise ValueError(f'tile zoom {z!r} is outside [0, 30]')
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        raise ValueError(f'tile ({z}, {x}, {y}) is outside the {n}x{n} tiles of zoom {z}')


def check_tile_px(tile_px: int) -> int:
    """Tile edge in pixels: a power of two >= 256 (256-px world pixels nest into it exactly)."""
    tile_px = int(tile_px)
    if tile_px < 256 or tile_px & (tile_px - 1):
        raise ValueError(f'tile size {tile_px!r} px must be a power of two >= 256')
    return tile_px


def decode_tile(data: bytes, tile_px: int | None = None, where: str = 'tile') -> np.ndarray:
    """Encoded image bytes -> ``H x W x 3`` uint8 RGB; ``TileDecodeError`` if corrupt/mis-sized."""
    buf = np.frombuffer(data, np.uint8)
    size = compressed_size(buf) if buf.size else None
    limit = (tile_px, tile_px) if tile_px is not None else None
    if size is not None and ((limit and size != limit) or size[0] * size[1] > MAX_TILE_PIXELS):
        # Refused from the header, before a (possibly hostile) server's bytes are decoded.
        raise TileDecodeError(f'{where}: image is {size[0]}x{size[1]}, not {tile_px} px')
    try:
        bad_png = image_kind(buf) == 'png' and not png_chunks_ok(buf)
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR) if buf.size and not bad_png else None
    except cv2.error:
        img = None
    if img is None:
        raise TileDecodeError(f'{where}: {len(data)} bytes are not a decodable image')
    if tile_px is not None and img.shape[:2] != (tile_px, tile_px):
        raise TileDecodeError(f'{where}: image is {img.shape[1]}x{img.shape[0]}, not {tile_px} px')
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def encode_tile(rgb: np.ndarray, fmt: str = 'png', jpeg_quality: int = 90) -> bytes:
    """``H x W x 3`` uint8 RGB -> encoded bytes in ``fmt`` ('png', 'jpg'/'jpeg' or 'webp')."""
    ext = FORMAT_EXT.get(fmt.lower())
    if ext is None:
        raise ValueError(f'unknown tile format {fmt!r}; use one of {sorted(FORMAT_EXT)}')
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f'encode_tile needs HxWx3 uint8 RGB, got {rgb.dtype} {rgb.shape}')
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if ext == 'jpg' else []
    ok, buf = cv2.imencode('.' + ext, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise ValueError(f'OpenCV could not encode a {rgb.shape} tile as {fmt}')
    return buf.tobytes()
