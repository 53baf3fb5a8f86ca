"""Hypothesis strategies for hostile ROS messages, and the check every case must pass.

Shared by ``test_hostile_fuzz.py`` (a few hundred examples in ``make test``) and
``bench/bench_fuzz.py`` (the long mode). Messages are plain namespaces: the conversions read
fields by name only, and a namespace can hold any value a deserialiser might produce.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import cv2
import numpy as np
from hostile_data import png_header_only
from hypothesis import strategies as st

from cvseq_localizer.image_header import MAX_IMAGE_PIXELS
from cvseq_localizer.ros.conversions import (
    SUPPORTED_ENCODINGS,
    ConversionError,
    compressed_msg_to_rgb,
    image_msg_to_rgb,
    navsatfix_to_gnss,
)

SIZES = st.one_of(
    st.integers(0, 40), st.sampled_from([2**16, 2**31 - 1, 2**32 - 1]), st.integers(-5, -1)
)
ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True, width=64)
LATITUDE = st.one_of(ANY_FLOAT, st.floats(-91, 91), st.floats(85.0, 85.1))


def _stamp(sec: int = 1, nanosec: int = 0) -> SimpleNamespace:
    return SimpleNamespace(stamp=SimpleNamespace(sec=sec, nanosec=nanosec), frame_id='x')


def _bytes(size: int, seed: int, constant: bool) -> bytes:
    """``size`` bytes: random from ``seed`` (drawing them byte by byte is slow), or constant."""
    if constant:
        return bytes([seed % 256]) * size
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


@st.composite
def raw_images(draw) -> SimpleNamespace:
    """``sensor_msgs/Image`` with any encoding, size, step and payload."""
    encoding = draw(st.one_of(st.sampled_from(SUPPORTED_ENCODINGS), st.text(max_size=12)))
    width, height = draw(SIZES), draw(SIZES)
    channels = 2 if encoding == 'mono16' else (3 if encoding.endswith('8') else 1)
    row = max(0, min(width, 64)) * channels
    step = draw(st.one_of(st.just(row), st.integers(-3, 4 * row + 8), SIZES))
    exact = max(0, min(height, 64)) * max(step, 0)
    size = draw(st.one_of(st.just(exact), st.integers(0, 2 * exact + 16)))
    data = _bytes(min(size, 4096), draw(st.integers(0, 2**16)), draw(st.booleans()))
    return SimpleNamespace(
        header=_stamp(), height=height, width=width, encoding=encoding,
        is_bigendian=draw(st.integers(0, 1)), step=step, data=data,
    )  # fmt: skip


@st.composite
def encoded_images(draw) -> bytes:
    """A valid small PNG/JPEG, then maybe cut short or with bytes flipped."""
    h, w = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    seed = draw(st.integers(0, 2**16))
    pixels = np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)
    ext = draw(st.sampled_from(['.png', '.jpg']))
    data = bytearray(cv2.imencode(ext, pixels)[1].tobytes())
    cut = draw(st.integers(0, len(data)))
    data = data[: cut if draw(st.booleans()) else len(data)]
    for pos in draw(st.lists(st.integers(0, max(len(data) - 1, 0)), max_size=6)):
        if data:
            data[pos] ^= draw(st.integers(1, 255))
    return bytes(data)


@st.composite
def compressed_images(draw) -> SimpleNamespace:
    """``sensor_msgs/CompressedImage`` payloads: garbage, headers declaring any size, real
    images (whole, truncated, corrupted)."""
    data = draw(
        st.one_of(
            st.binary(max_size=256),
            st.builds(png_header_only, st.integers(0, 70000), st.integers(0, 70000)),
            encoded_images(),
        )
    )
    fmt = draw(st.sampled_from(['png', 'jpeg', 'rgb8; jpeg compressed bgr8', '']))
    return SimpleNamespace(header=_stamp(), format=fmt, data=data)


@st.composite
def fixes(draw) -> SimpleNamespace:
    """``sensor_msgs/NavSatFix`` with any numbers, statuses and covariances."""
    length = draw(st.one_of(st.just(9), st.integers(0, 12)))
    cov = draw(
        st.lists(st.one_of(ANY_FLOAT, st.floats(-10, 10)), min_size=length, max_size=length)
    )
    return SimpleNamespace(
        header=_stamp(draw(st.integers(-(2**31), 2**31 - 1)), draw(st.integers(0, 10**9 - 1))),
        status=SimpleNamespace(status=draw(st.integers(-128, 127)), service=1),
        latitude=draw(LATITUDE), longitude=draw(st.one_of(ANY_FLOAT, st.floats(-181, 181))),
        altitude=draw(ANY_FLOAT), position_covariance=cov,
        position_covariance_type=draw(st.integers(0, 255)),
    )  # fmt: skip


def messages() -> st.SearchStrategy:
    """``(kind, msg)`` of any of the three message types."""
    return st.one_of(
        st.tuples(st.just('image'), raw_images()),
        st.tuples(st.just('compressed'), compressed_images()),
        st.tuples(st.just('fix'), fixes()),
    )


class InvalidResult(AssertionError):
    """A conversion returned a value with NaN where it must be finite, or out of bounds."""


def _require(ok: bool, what: object) -> None:
    if not ok:
        raise InvalidResult(str(what))


def check_case(kind: str, msg: SimpleNamespace, max_pixels: int = MAX_IMAGE_PIXELS) -> str:
    """Convert one message; ``'ok'`` or ``'<kind>:<error kind>'``.

    Raises:
        InvalidResult: a result with NaN where it must be finite, or an image beyond the limit.
        Any exception other than ConversionError escaping the conversion (the defect).
    """
    try:
        if kind == 'fix':
            fix = navsatfix_to_gnss(msg)
            if fix.is_usable():
                _require(math.isfinite(fix.lat_deg) and math.isfinite(fix.lon_deg), fix)
                _require(abs(fix.lat_deg) <= 85.0512, fix)
                _require(fix.cov_type == 0 or bool(np.all(np.isfinite(fix.cov_enu_m2))), fix)
                return 'fix:ok'
            _require(bool(fix.problem()), fix)
            return f'fix:unusable_{fix.problem()}'
        convert = image_msg_to_rgb if kind == 'image' else compressed_msg_to_rgb
        out = convert(msg, max_pixels=max_pixels)
    except ConversionError as err:
        _require(isinstance(err.kind, str) and bool(err.kind), err)
        return f'{kind}:{err.kind}'
    _require(out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3, out.shape)
    _require(out.shape[0] * out.shape[1] <= max_pixels, out.shape)
    return f'{kind}:ok'


# ------------------------------------------------------------------ fast generator (long mode)
# Hypothesis spends milliseconds drawing each case; the benchmark's 100,000+ cases come from
# this numpy generator instead, which samples the same spaces as the strategies above.
_ODD_SIZES = (0, 1, 2, 3, 2**16, 2**31 - 1, 2**32 - 1, -1, -5)
_ODD_FLOATS = (math.nan, math.inf, -math.inf, 0.0, -0.0, 85.0511, 85.06, 90.0, 91.0, 1e308, 5e-324)
_STATUSES = (-1, 0, 0, 0, 1, 2, 3, -2, 127, -128)
_ENCODINGS = (*SUPPORTED_ENCODINGS, 'yuv422', '', 'RGB8', 'mono32', '16UC1', 'jpeg')


def _size(rng: np.random.Generator) -> int:
    return int(rng.choice(_ODD_SIZES)) if rng.random() < 0.15 else int(rng.integers(0, 41))


def _float(rng: np.random.Generator, scale: float) -> float:
    if rng.random() < 0.2:
        return float(rng.choice(_ODD_FLOATS)) * (1 if rng.random() < 0.5 else -1)
    return float(rng.uniform(-scale, scale))


def random_raw_image(rng: np.random.Generator) -> SimpleNamespace:
    encoding = str(rng.choice(_ENCODINGS))
    width, height = _size(rng), _size(rng)
    row = max(0, min(width, 64)) * (2 if encoding == 'mono16' else 3)
    step = (
        row
        if rng.random() < 0.5
        else (_size(rng) if rng.random() < 0.3 else int(rng.integers(0, 4 * row + 9)))
    )
    exact = max(0, min(height, 64)) * max(step, 0)
    size = exact if rng.random() < 0.5 else int(rng.integers(0, 2 * exact + 17))
    data = _bytes(min(size, 4096), int(rng.integers(0, 2**16)), rng.random() < 0.2)
    return SimpleNamespace(
        header=_stamp(), height=height, width=width, encoding=encoding,
        is_bigendian=int(rng.integers(0, 2)), step=step, data=data,
    )  # fmt: skip


def random_compressed_image(rng: np.random.Generator) -> SimpleNamespace:
    pick = rng.random()
    if pick < 0.2:
        data = _bytes(int(rng.integers(0, 257)), int(rng.integers(0, 2**16)), False)
    elif pick < 0.4:
        data = png_header_only(int(rng.integers(0, 70001)), int(rng.integers(0, 70001)))
    else:
        h, w = int(rng.integers(1, 25)), int(rng.integers(1, 25))
        pixels = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        data = bytearray(cv2.imencode(str(rng.choice(['.png', '.jpg'])), pixels)[1].tobytes())
        if rng.random() < 0.5:
            data = data[: int(rng.integers(0, len(data) + 1))]
        for pos in rng.integers(0, max(len(data), 1), int(rng.integers(0, 7))):
            if data:
                data[pos] ^= int(rng.integers(1, 256))
        data = bytes(data)
    return SimpleNamespace(header=_stamp(), format='png', data=data)


def random_fix(rng: np.random.Generator) -> SimpleNamespace:
    length = 9 if rng.random() < 0.7 else int(rng.integers(0, 13))
    return SimpleNamespace(
        header=_stamp(int(rng.integers(-(2**31), 2**31)), int(rng.integers(0, 10**9))),
        status=SimpleNamespace(status=int(rng.choice(_STATUSES)), service=1),
        latitude=_float(rng, 91.0), longitude=_float(rng, 181.0), altitude=_float(rng, 1e4),
        position_covariance=[_float(rng, 10.0) for _ in range(length)],
        position_covariance_type=int(rng.integers(0, 256)),
    )  # fmt: skip


RANDOM_KINDS = {
    'image': random_raw_image,
    'compressed': random_compressed_image,
    'fix': random_fix,
}


def random_case(rng: np.random.Generator) -> tuple[str, SimpleNamespace]:
    """One ``(kind, msg)`` of a uniformly chosen message type."""
    kind = ('image', 'compressed', 'fix')[int(rng.integers(0, 3))]
    return kind, RANDOM_KINDS[kind](rng)
