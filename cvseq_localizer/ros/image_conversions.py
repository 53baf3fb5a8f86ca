"""Camera image messages -> ``H x W x 3`` uint8 RGB (``sensor_msgs/Image``, ``CompressedImage``),
bounded before decoding; part of ``ros.conversions`` (which re-exports everything here).
Nothing here imports rclpy.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from cvseq_localizer.image_header import (
    MAX_IMAGE_PIXELS,
    compressed_size,
    image_kind,
    png_chunks_ok,
)

# Encodings with OpenCV's demosaicing code for RGB output (OpenCV >= 4.5 names match the
# actual pattern: BayerGBRG2RGB for a GBRG sensor, FACTS.md section 2).
BAYER_CODES = {
    'bayer_rggb8': cv2.COLOR_BayerRGGB2RGB,
    'bayer_bggr8': cv2.COLOR_BayerBGGR2RGB,
    'bayer_gbrg8': cv2.COLOR_BayerGBRG2RGB,
    'bayer_grbg8': cv2.COLOR_BayerGRBG2RGB,
}
CHANNELS = {'rgb8': 3, 'bgr8': 3, 'mono8': 1, 'rgba8': 4, 'bgra8': 4, 'mono16': 1}
SUPPORTED_ENCODINGS = tuple(sorted([*CHANNELS, *BAYER_CODES]))


class ConversionError(ValueError):
    """A message cannot be converted (unknown encoding, inconsistent sizes, corrupt data).

    Attributes:
        kind: a short key for counting (``encoding``, ``empty``, ``step``, ``size``,
            ``too_large``, ``corrupt``, ``malformed``, ``covariance`` or a ``GnssFix.problem``
            key such as ``latitude``).
    """

    def __init__(self, message: str, kind: str = 'malformed') -> None:
        super().__init__(message)
        self.kind = kind


def image_msg_to_rgb(msg: Any, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """``sensor_msgs/Image`` -> ``H x W x 3`` uint8 RGB, respecting ``step``.

    Raises:
        ConversionError: unknown encoding, more than ``max_pixels`` pixels, or data/step/size
            that do not agree (never another exception, whatever the fields hold).
    """
    try:
        encoding = str(msg.encoding).lower()
        height, width, step = int(msg.height), int(msg.width), int(msg.step)
        big_endian = bool(msg.is_bigendian)
    except (TypeError, ValueError, OverflowError, AttributeError) as exc:
        raise ConversionError(f'malformed image message: {exc}', 'malformed') from None
    if encoding in BAYER_CODES:
        channels, bytes_per = 1, 1
    elif encoding in CHANNELS:
        channels, bytes_per = CHANNELS[encoding], 2 if encoding == 'mono16' else 1
    else:
        raise ConversionError(
            f'unsupported image encoding {msg.encoding!r} (supported: '
            f'{", ".join(SUPPORTED_ENCODINGS)})',
            'encoding',
        )
    row_bytes = width * channels * bytes_per
    if height <= 0 or width <= 0:
        raise ConversionError(f'empty image ({width} x {height})', 'empty')
    check_pixels(width, height, max_pixels)
    if step < row_bytes:
        raise ConversionError(f'step {step} is smaller than a row ({row_bytes} bytes)', 'step')
    data = _payload(msg)
    if data.size < step * (height - 1) + row_bytes:
        raise ConversionError(
            f'image data has {data.size} bytes, {encoding} {width}x{height} with step {step} '
            f'needs {step * (height - 1) + row_bytes}',
            'size',
        )
    rows = np.lib.stride_tricks.as_strided(data, (height, row_bytes), (step, 1))
    try:
        return _decode_rows(rows, encoding, height, width, big_endian)
    except cv2.error as exc:  # e.g. demosaicing refuses a 1-pixel-wide Bayer image
        raise ConversionError(f'{encoding} {width}x{height} image: {exc}', 'corrupt') from None


def check_pixels(width: int, height: int, max_pixels: int = MAX_IMAGE_PIXELS) -> None:
    """Raise ``ConversionError`` (kind ``too_large``) if ``width x height`` exceeds the limit."""
    if width * height > max_pixels:
        raise ConversionError(
            f'image of {width} x {height} pixels exceeds the limit of {max_pixels} pixels',
            'too_large',
        )


def _payload(msg: Any) -> np.ndarray:
    """``msg.data`` as a flat uint8 array (ConversionError if it is not a byte sequence)."""
    data = msg.data
    if isinstance(data, np.ndarray) and data.dtype == np.uint8:
        return data.reshape(-1)
    try:
        return np.frombuffer(bytes(data), np.uint8)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ConversionError(f'image data is not a byte sequence: {exc}', 'malformed') from None


def _decode_rows(rows: np.ndarray, encoding: str, h: int, w: int, big_endian: bool) -> np.ndarray:
    if encoding in BAYER_CODES:
        return cv2.cvtColor(np.ascontiguousarray(rows), BAYER_CODES[encoding])
    if encoding == 'mono16':
        mono = np.ascontiguousarray(rows).view('>u2' if big_endian else '<u2').reshape(h, w)
        return np.repeat((mono >> 8).astype(np.uint8)[..., None], 3, axis=2)
    pixels = rows.reshape(h, w, CHANNELS[encoding])
    if encoding == 'mono8':
        return np.repeat(pixels, 3, axis=2)
    if encoding in ('bgr8', 'bgra8'):
        return np.ascontiguousarray(pixels[..., 2::-1])
    return np.ascontiguousarray(pixels[..., :3])


def compressed_msg_to_rgb(msg: Any, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """``sensor_msgs/CompressedImage`` (JPEG/PNG) -> ``H x W x 3`` uint8 RGB.

    The size is read from the PNG/JPEG header before anything is decoded, so a small message
    declaring a huge image (a decompression bomb) is refused without allocating it.

    Raises:
        ConversionError: not PNG/JPEG (``encoding``), no size in the header or no data
            (``corrupt``/``empty``), above ``max_pixels`` (``too_large``), or a decoder error
            (``corrupt``; ``cv2.error`` never escapes).
    """
    buf = _payload(msg)
    fmt = str(getattr(msg, 'format', ''))[:40]
    if not buf.size:
        raise ConversionError(f'compressed image (format {fmt!r}) has no data', 'empty')
    size = compressed_size(buf)
    if size is None:
        raise ConversionError(
            f'compressed image (format {fmt!r}, {buf.size} bytes) could not be decoded: not a '
            'PNG or JPEG with a readable size in its header',
            'encoding' if image_kind(buf) is None else 'corrupt',
        )
    width, height = size
    check_pixels(width, height, max_pixels)
    if image_kind(buf) == 'png' and not png_chunks_ok(buf):
        raise ConversionError(
            f'compressed image (format {fmt!r}, {buf.size} bytes) could not be decoded: a PNG '
            'chunk is cut off or fails its CRC',
            'corrupt',
        )
    try:
        bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    except cv2.error as exc:
        bgr, detail = None, f': {str(exc).strip()[-120:]}'
    else:
        detail = ''
    if bgr is None or bgr.ndim != 3 or bgr.shape[2] != 3:
        raise ConversionError(
            f'compressed image (format {fmt!r}, {buf.size} bytes) could not be decoded{detail}',
            'corrupt',
        )
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
