"""Image sizes read from PNG/JPEG headers, before anything is decoded.

Hand-written because OpenCV has no header-only read (``cv2.imdecode`` allocates the full image
first, and only refuses above a process-wide 2**30 pixels), and the two formats a
``sensor_msgs/CompressedImage`` carries (image_transport's ``png`` and ``jpeg``) have simple,
fixed headers: PNG's IHDR chunk (PNG spec section 11.2.2) and JPEG's SOFn segment (ITU T.81
section B.2.2). Pure: the functions take bytes (used by the ROS conversions and the tiles).
"""

from __future__ import annotations

import zlib

import numpy as np

# Default limit of decoded pixels per camera frame: 8K UHD (7680 x 4320 = 33.2 Mpx) fits.
MAX_IMAGE_PIXELS = 40_000_000
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
# SOF0..SOF15 carry the frame size, except DHT (C4), JPG (C8) and DAC (CC).
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field: TEM, RSTn, SOI.
_JPEG_BARE = frozenset([0x01, *range(0xD0, 0xD9)])
_JPEG_MAX_SEGMENTS = 512


def image_kind(data: bytes | np.ndarray) -> str | None:
    """``'png'``, ``'jpeg'`` or ``None`` from the first bytes."""
    head = bytes(data[:8])
    if head.startswith(PNG_SIGNATURE):
        return 'png'
    if head.startswith(b'\xff\xd8'):
        return 'jpeg'
    return None


def compressed_size(data: bytes | np.ndarray) -> tuple[int, int] | None:
    """``(width, height)`` in pixels declared by a PNG or JPEG header; ``None`` if the data is
    neither or its header is cut off or invalid (a zero size is invalid)."""
    kind = image_kind(data)
    if kind == 'png':
        size = _png_size(bytes(data[:24]))
    elif kind == 'jpeg':
        size = _jpeg_size(data.tobytes() if isinstance(data, np.ndarray) else bytes(data))
    else:
        return None
    if size is None or min(size) <= 0:
        return None
    return size


def png_chunks_ok(data: bytes | np.ndarray) -> bool:
    """Every PNG chunk fits in ``data`` with a correct CRC-32, up to ``IEND``.

    Checked before decoding because OpenCV's PNG reader allocates a chunk's declared length
    before reading it: a 300-byte PNG with one corrupted length field made it allocate 2.9 GB.
    """
    buf = data.tobytes() if isinstance(data, np.ndarray) else bytes(data)
    pos, n = len(PNG_SIGNATURE), len(buf)
    while pos + 12 <= n:
        length = int.from_bytes(buf[pos : pos + 4], 'big')
        end = pos + 8 + length
        if end + 4 > n:
            return False
        crc = int.from_bytes(buf[end : end + 4], 'big')
        if zlib.crc32(buf[pos + 4 : end]) & 0xFFFFFFFF != crc:
            return False
        if buf[pos + 4 : pos + 8] == b'IEND':
            return True
        pos = end + 4
    return False


def _png_size(head: bytes) -> tuple[int, int] | None:
    # Signature (8), IHDR length (4), b'IHDR' (4), width (4, big-endian), height (4).
    if len(head) < 24 or head[12:16] != b'IHDR':
        return None
    return int.from_bytes(head[16:20], 'big'), int.from_bytes(head[20:24], 'big')


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos, n = 2, len(data)
    for _ in range(_JPEG_MAX_SEGMENTS):
        while pos < n and data[pos] == 0xFF:  # fill bytes before a marker
            pos += 1
        if pos + 3 > n or data[pos - 1] != 0xFF:
            return None
        marker = data[pos]
        pos += 1
        if marker in _JPEG_BARE:
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame header
            return None
        length = int.from_bytes(data[pos : pos + 2], 'big')
        if marker in _JPEG_SOF:
            if pos + 7 > n or length < 7:
                return None
            height = int.from_bytes(data[pos + 3 : pos + 5], 'big')
            width = int.from_bytes(data[pos + 5 : pos + 7], 'big')
            return width, height
        if length < 2:
            return None
        pos += length
    return None
