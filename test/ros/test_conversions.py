"""Message conversions, on rosbags messages and on real rclpy messages (built directly)."""

import math

import cv2
import numpy as np
import pytest

from cvseq_localizer.ros.conversions import (
    ConversionError,
    belief_overlay_rgb,
    compressed_msg_to_rgb,
    diagnostics_to_msg,
    estimate_is_finite,
    estimate_to_navsatfix,
    estimate_to_odometry,
    estimate_to_pose_msg,
    estimate_to_transform,
    gnss_to_navsatfix,
    image_msg_to_rgb,
    navsatfix_to_gnss,
    ns_to_stamp,
    quaternion_to_yaw,
    rgb_to_image_msg,
    stamp_to_ns,
)
from cvseq_localizer.ros.diagnostics import OK, WARN, Status
from cvseq_localizer.ros.msgtypes import rclpy_types, rosbags_types
from cvseq_localizer.types import COVARIANCE_TYPE_DIAGONAL_KNOWN, STATUS_NO_FIX, Estimate, GnssFix


@pytest.fixture(params=['rosbags', 'rclpy'])
def types(request):
    return rosbags_types() if request.param == 'rosbags' else rclpy_types()


def rgb_image(h=5, w=7):
    rng = np.random.default_rng(3)
    return rng.integers(0, 255, (h, w, 3), dtype=np.uint8)


def raw_msg(types, data: np.ndarray, encoding: str, step: int, width: int, height: int):
    return types.Image(
        header=types.Header(stamp=ns_to_stamp(5, types), frame_id='cam'),
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=0,
        step=step,
        data=types.u8(data.tobytes()),
    )


def padded(rows: np.ndarray, pad: int) -> np.ndarray:
    """Add ``pad`` junk bytes at the end of each row (a step larger than the row)."""
    h = rows.shape[0]
    flat = rows.reshape(h, -1)
    return np.concatenate([flat, np.full((h, pad), 77, np.uint8)], axis=1)


@pytest.mark.parametrize('encoding', ['rgb8', 'bgr8', 'rgba8', 'bgra8', 'mono8'])
def test_image_encodings_respect_step(types, encoding):
    rgb = rgb_image()
    if encoding == 'rgb8':
        raw = rgb
    elif encoding == 'bgr8':
        raw = rgb[..., ::-1]
    elif encoding == 'rgba8':
        raw = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 9, np.uint8)], axis=2)
    elif encoding == 'bgra8':
        raw = np.concatenate([rgb[..., ::-1], np.full(rgb.shape[:2] + (1,), 9, np.uint8)], axis=2)
    else:
        raw = rgb[..., 0]
    row_bytes = raw.reshape(raw.shape[0], -1).shape[1]
    msg = raw_msg(types, padded(raw, 3), encoding, row_bytes + 3, 7, 5)
    out = image_msg_to_rgb(msg)
    expected = np.repeat(rgb[..., :1], 3, axis=2) if encoding == 'mono8' else rgb
    np.testing.assert_array_equal(out, expected)


def test_bayer_demosaic_matches_opencv(types):
    rng = np.random.default_rng(1)
    mosaic = rng.integers(0, 255, (6, 8), dtype=np.uint8)
    msg = raw_msg(types, mosaic, 'bayer_gbrg8', 8, 8, 6)
    np.testing.assert_array_equal(
        image_msg_to_rgb(msg), cv2.cvtColor(mosaic, cv2.COLOR_BayerGBRG2RGB)
    )


@pytest.mark.parametrize(
    ('encoding', 'step', 'nbytes', 'needle'),
    [
        ('yuv422', 14, 70, 'unsupported image encoding'),
        ('rgb8', 10, 70, 'step 10 is smaller'),
        ('rgb8', 21, 50, 'needs 105'),
        ('rgb8', 21, 0, 'needs'),
    ],
)
def test_bad_images_raise_clear_errors(types, encoding, step, nbytes, needle):
    msg = raw_msg(types, np.zeros(nbytes, np.uint8), encoding, step, 7, 5)
    with pytest.raises(ConversionError, match=needle):
        image_msg_to_rgb(msg)


def test_rgb_round_trip_and_compressed(types):
    rgb = rgb_image(6, 9)
    msg = rgb_to_image_msg(rgb, 1_500_000_001, 'camera', types)
    assert stamp_to_ns(msg.header.stamp) == 1_500_000_001 and msg.step == 27
    np.testing.assert_array_equal(image_msg_to_rgb(msg), rgb)
    ok, png = cv2.imencode('.png', cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    comp = types.classes['CompressedImage'](
        header=msg.header, format='png', data=types.u8(png.tobytes())
    )
    np.testing.assert_array_equal(compressed_msg_to_rgb(comp), rgb)
    bad = types.classes['CompressedImage'](header=msg.header, format='jpeg', data=types.u8(b'xx'))
    with pytest.raises(ConversionError, match='could not be decoded'):
        compressed_msg_to_rgb(bad)


def test_navsatfix_round_trip(types):
    cov = np.diag([4.0, 9.0, 16.0])
    fix = GnssFix(7_000_000_123, 49.01, 8.41, 115.0, cov, COVARIANCE_TYPE_DIAGONAL_KNOWN, 0)
    back = navsatfix_to_gnss(gnss_to_navsatfix(fix, 'gnss', types))
    assert back.stamp_ns == fix.stamp_ns and back.lat_deg == 49.01 and back.alt_m == 115.0
    np.testing.assert_array_equal(back.cov_enu_m2, cov)
    nofix = GnssFix(1, math.nan, math.nan, status=STATUS_NO_FIX)
    assert not navsatfix_to_gnss(gnss_to_navsatfix(nofix, 'gnss', types)).is_usable()


def make_estimate(**kw):
    values = dict(
        stamp_ns=42,
        xy_enu_m=np.array([3.0, -4.0]),
        cov_xy_m2=np.array([[1.0, 0.2], [0.2, 2.0]]),
        yaw_rad=2.5,
        yaw_var_rad2=0.01,
        speed_mps=7.0,
        ess=900.0,
        lat_deg=49.0,
        lon_deg=8.4,
    )
    values.update(kw)
    return Estimate(**values)


def test_estimate_messages(types):
    est = make_estimate()
    pose = estimate_to_pose_msg(est, 'map', types)
    assert stamp_to_ns(pose.header.stamp) == 42 and pose.header.frame_id == 'map'
    assert pose.pose.pose.position.x == 3.0 and pose.pose.pose.position.y == -4.0
    assert quaternion_to_yaw(pose.pose.pose.orientation) == pytest.approx(2.5)
    cov = np.asarray(pose.pose.covariance).reshape(6, 6)
    np.testing.assert_array_equal(cov[:2, :2], est.cov_xy_m2)
    assert cov[5, 5] == 0.01
    odom = estimate_to_odometry(est, 'map', 'base_link', types)
    assert odom.twist.twist.linear.x == 7.0 and odom.child_frame_id == 'base_link'
    fix = estimate_to_navsatfix(est, 100.0, 'gnss', types)
    assert fix.latitude == 49.0 and fix.altitude == 100.0
    assert estimate_to_navsatfix(make_estimate(lat_deg=math.nan), 0.0, 'g', types) is None


def test_nan_never_reaches_a_message(types):
    est = make_estimate(
        xy_enu_m=np.array([math.nan, 1.0]),
        cov_xy_m2=np.full((2, 2), math.nan),
        yaw_rad=math.nan,
        yaw_var_rad2=math.inf,
        speed_mps=math.nan,
    )
    pose = estimate_to_pose_msg(est, 'map', types)
    odom = estimate_to_odometry(est, 'map', 'base_link', types)
    values = [
        pose.pose.pose.position.x,
        pose.pose.pose.orientation.w,
        odom.twist.twist.linear.x,
        *np.asarray(pose.pose.covariance),
    ]
    assert all(math.isfinite(v) for v in values)


def test_transform_and_finite_check(types):
    est = make_estimate()
    tf = estimate_to_transform(est, 'map', 'base_link', types)
    assert tf.child_frame_id == 'base_link' and tf.header.frame_id == 'map'
    assert tf.transform.translation.x == 3.0 and tf.transform.translation.y == -4.0
    assert quaternion_to_yaw(tf.transform.rotation) == pytest.approx(2.5)
    assert estimate_is_finite(est)
    assert not estimate_is_finite(make_estimate(cov_xy_m2=np.full((2, 2), math.nan)))
    assert not estimate_is_finite(make_estimate(yaw_rad=math.inf))


def test_diagnostics_message(types):
    statuses = [
        Status('a', WARN, 'careful', {'dropped': 3, 'p50': '1.5'}),
        Status('b', OK, 'fine'),
    ]
    msg = diagnostics_to_msg(statuses, 2_000_000_001, '/cvseq_localizer', types)
    assert stamp_to_ns(msg.header.stamp) == 2_000_000_001
    levels = [s.level if isinstance(s.level, int) else s.level[0] for s in msg.status]
    assert levels == [WARN, OK] and msg.status[0].hardware_id == '/cvseq_localizer'
    assert [(kv.key, kv.value) for kv in msg.status[0].values] == [
        ('dropped', '3'),
        ('p50', '1.5'),
    ]


def test_belief_overlay_marks_the_most_probable_cell():
    prob = np.full((4, 4), 0.01)
    prob[1, 2] = 0.85
    prob[3, 0] = math.nan  # ignored, not propagated
    tile = np.full((40, 40, 3), 128, np.uint8)
    out = belief_overlay_rgb(prob, tile)
    assert out.shape == tile.shape and out.dtype == np.uint8
    peak = out[15, 25].astype(int)  # inside cell (row 1, col 2)
    low = out[5, 5].astype(int)
    assert peak[0] > peak[2] and low[2] > low[0]  # red at the peak, blue elsewhere
    np.testing.assert_array_equal(belief_overlay_rgb(np.zeros((4, 4)), tile)[0, 0], out[35, 5])
    with pytest.raises(ConversionError):
        belief_overlay_rgb(prob, tile[..., 0])
