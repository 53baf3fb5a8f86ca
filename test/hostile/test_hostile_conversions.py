"""Hostile messages through ros/conversions.py: every failure is a typed ConversionError."""

import math
import resource

import cv2
import numpy as np
import pytest
from hostile_data import png_bomb, png_header_only

from cvseq_localizer.ros.conversions import (
    ConversionError,
    compressed_msg_to_rgb,
    image_msg_to_rgb,
    navsatfix_to_gnss,
)
from cvseq_localizer.ros.msgtypes import rosbags_types
from cvseq_localizer.types import COVARIANCE_TYPE_KNOWN, GnssFix

TYPES = rosbags_types()


def compressed(data: bytes, fmt: str = 'png'):
    header = TYPES.Header(stamp=TYPES.Time(sec=1, nanosec=0), frame_id='cam')
    return TYPES.classes['CompressedImage'](header=header, format=fmt, data=TYPES.u8(data))


def raw(encoding: str, width: int, height: int, step: int, data: bytes):
    header = TYPES.Header(stamp=TYPES.Time(sec=1, nanosec=0), frame_id='cam')
    return TYPES.Image(
        header=header, height=height, width=width, encoding=encoding, is_bigendian=0,
        step=step, data=TYPES.u8(data),
    )  # fmt: skip


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def test_68_byte_png_declaring_40000_squared_is_too_large():
    data = png_header_only(40000, 40000)
    assert len(data) == 68
    with pytest.raises(ConversionError, match='exceeds the limit') as err:
        compressed_msg_to_rgb(compressed(data))
    assert err.value.kind == 'too_large'


def test_png_bomb_is_refused_before_decoding():
    data = png_bomb(20000, 20000)
    assert len(data) < 500_000
    before = peak_rss_mb()
    with pytest.raises(ConversionError) as err:
        compressed_msg_to_rgb(compressed(data))
    assert err.value.kind == 'too_large'
    assert peak_rss_mb() - before < 200  # decoding it would take 400 MB at least


def test_pixel_limit_is_configurable():
    data = png_bomb(300, 200)
    assert compressed_msg_to_rgb(compressed(data)).shape == (200, 300, 3)
    with pytest.raises(ConversionError) as err:
        compressed_msg_to_rgb(compressed(data), max_pixels=300 * 200 - 1)
    assert err.value.kind == 'too_large'
    raw_msg = raw('mono8', 300, 200, 300, bytes(300 * 200))
    with pytest.raises(ConversionError) as err:
        image_msg_to_rgb(raw_msg, max_pixels=1000)
    assert err.value.kind == 'too_large'


@pytest.mark.parametrize(
    ('data', 'kind'),
    [
        (b'', 'empty'),
        (b'GIF89a' + bytes(40), 'encoding'),
        (b'\x89PNG\r\n\x1a\n\x00\x00', 'corrupt'),  # header cut off
        (b'\xff\xd8\xff\xe0\x00\x10JFIF', 'corrupt'),  # no frame header
        (png_header_only(64, 48), 'corrupt'),  # IDAT too short for the declared pixels
        (png_header_only(0, 48), 'corrupt'),
    ],
)
def test_broken_compressed_images_have_a_kind(data, kind):
    with pytest.raises(ConversionError) as err:
        compressed_msg_to_rgb(compressed(data))
    assert err.value.kind == kind


def test_truncated_jpeg_is_a_conversion_error_or_an_image():
    rng = np.random.default_rng(4)
    ok, jpg = cv2.imencode('.jpg', rng.integers(0, 255, (64, 96, 3), dtype=np.uint8))
    for cut in (30, 200, 600, len(jpg) - 10):
        try:
            out = compressed_msg_to_rgb(compressed(jpg.tobytes()[:cut], 'jpeg'))
        except ConversionError as err:
            assert err.kind in ('corrupt', 'encoding')
        else:  # libjpeg pads a cut-off scan with grey: a valid (if damaged) frame
            assert out.shape == (64, 96, 3)


def test_payload_that_is_not_bytes_is_a_conversion_error():
    msg = raw('mono8', 2, 2, 2, bytes(4))
    msg.data = [1, 2, 300, 4]  # not a byte sequence
    with pytest.raises(ConversionError) as err:
        image_msg_to_rgb(msg)
    assert err.value.kind == 'malformed'


def navsatfix(cov, lat=49.0, lon=8.4, status=0):
    header = TYPES.Header(stamp=TYPES.Time(sec=3, nanosec=0), frame_id='gnss')
    return TYPES.NavSatFix(
        header=header, status=TYPES.NavSatStatus(status=status, service=1), latitude=lat,
        longitude=lon, altitude=100.0, position_covariance=np.asarray(cov, np.float64),
        position_covariance_type=COVARIANCE_TYPE_KNOWN,
    )  # fmt: skip


@pytest.mark.parametrize('length', [0, 4, 8, 10, 36])
def test_covariance_of_wrong_length_is_a_conversion_error(length):
    with pytest.raises(ConversionError) as err:
        navsatfix_to_gnss(navsatfix(np.ones(length)))
    assert err.value.kind == 'covariance'


@pytest.mark.parametrize(
    ('lat', 'status', 'cov', 'problem'),
    [
        (86.0, 0, np.eye(3), 'latitude'),
        (-85.06, 0, np.eye(3), 'latitude'),
        (math.nan, 0, np.eye(3), 'latitude'),
        (49.0, -1, np.eye(3), 'no_fix'),
        (49.0, 7, np.eye(3), 'status'),
        (49.0, 0, np.full((3, 3), math.inf), 'covariance'),
        (49.0, 0, -np.eye(3), 'covariance'),
    ],
)
def test_one_usability_rule_for_fixes(lat, status, cov, problem):
    msg = navsatfix(np.ravel(cov), lat=lat, status=status)
    fix = navsatfix_to_gnss(msg)
    assert fix.problem() == problem and not fix.is_usable()
    with pytest.raises(ConversionError) as err:
        navsatfix_to_gnss(msg, usable_only=True)
    assert err.value.kind == problem


def test_latitude_at_the_mercator_limit_is_usable():
    fix = GnssFix(1, 85.05, 179.9, cov_enu_m2=np.eye(3), cov_type=COVARIANCE_TYPE_KNOWN)
    assert fix.is_usable() and fix.problem() == ''
    assert not GnssFix(1, 85.06, 0.0).is_usable()


def test_png_with_a_huge_chunk_length_is_refused_before_decoding():
    """OpenCV allocates a chunk's declared length first: 300 bytes made it take 2.9 GB."""
    ok, png = cv2.imencode('.png', np.zeros((12, 8, 3), np.uint8))
    data = bytearray(png.tobytes())
    idat = data.index(b'IDAT') - 4
    data[idat : idat + 4] = (0x7FFF0000).to_bytes(4, 'big')
    before = peak_rss_mb()
    with pytest.raises(ConversionError, match='CRC|cut off') as err:
        compressed_msg_to_rgb(compressed(bytes(data)))
    assert err.value.kind == 'corrupt'
    assert peak_rss_mb() - before < 200
