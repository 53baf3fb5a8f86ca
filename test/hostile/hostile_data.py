"""Generators of hostile inputs for the tests (PNG headers and bombs, built in memory)."""

from __future__ import annotations

import struct
import zlib


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk: length, type, payload, CRC-32 over type + payload."""
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack('>I', len(payload)) + kind + payload + struct.pack('>I', crc)


def png_header_only(width: int, height: int, color_type: int = 2) -> bytes:
    """A tiny PNG that declares ``width x height`` 8-bit pixels and holds almost no data."""
    ihdr = struct.pack('>IIBBBBB', width, height, 8, color_type, 0, 0, 0)
    return (
        b'\x89PNG\r\n\x1a\n'
        + png_chunk(b'IHDR', ihdr)
        + png_chunk(b'IDAT', zlib.compress(b'\x00' * 16))
        + png_chunk(b'IEND', b'')
    )


def png_bomb(width: int, height: int, rows_per_block: int = 100) -> bytes:
    """A valid grayscale PNG of ``width x height`` zero pixels in a few hundred KB.

    Identical blocks of rows are deflated once with a full flush (which resets the compressor,
    so every block compresses to the same bytes) and repeated; the zlib header and Adler-32
    trailer are written around the raw deflate stream.
    """
    if height % rows_per_block:
        raise ValueError('height must be a multiple of rows_per_block')
    block = b'\x00' * ((width + 1) * rows_per_block)  # filter byte 0 + zero pixels per row
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    tail = comp.flush(zlib.Z_FINISH)
    adler = 1
    for _ in range(height // rows_per_block):
        adler = zlib.adler32(block, adler)
    stream = b'\x78\xda' + deflated * (height // rows_per_block) + tail + struct.pack('>I', adler)
    ihdr = struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0, 0)
    return (
        b'\x89PNG\r\n\x1a\n'
        + png_chunk(b'IHDR', ihdr)
        + png_chunk(b'IDAT', stream)
        + png_chunk(b'IEND', b'')
    )
