"""Malformed inputs are counted, reported in /diagnostics and never crash the node or leak NaN."""

import math

import numpy as np
import pytest
from rclpy.parameter import Parameter
from ros_testkit import Collector, spinning, wait_until

from cvseq_localizer.localizer import LocalizerConfig
from cvseq_localizer.ros.conversions import gnss_to_navsatfix, ns_to_stamp
from cvseq_localizer.ros.msgtypes import rclpy_types
from cvseq_localizer.types import COVARIANCE_TYPE_DIAGONAL_KNOWN, STATUS_NO_FIX, GnssFix

pytestmark = pytest.mark.ros
T0 = 1_700_000_000 * 10**9
GOOD_FIXES = LocalizerConfig().datum_min_fixes


def _image(types, stamp_ns, encoding='rgb8', step=24, data=bytes(24 * 6)):
    header = types.Header(stamp=ns_to_stamp(stamp_ns, types), frame_id='camera')
    return types.Image(header=header, height=6, width=8, encoding=encoding, is_bigendian=0,
                       step=step, data=data)  # fmt: skip


def _fix(types, stamp_ns, lat=49.011, status=0):
    cov = np.diag([4.0, 4.0, 9.0])
    fix = GnssFix(stamp_ns, lat, 8.417, 115.0, cov, COVARIANCE_TYPE_DIAGONAL_KNOWN, status)
    return gnss_to_navsatfix(fix, 'gnss', types)


def _bad_messages(types):
    """(topic kind, message) pairs, one per kind of problem."""
    return [
        ('image', _image(types, T0, data=b'')),  # empty data
        ('image', _image(types, T0, step=10)),  # step smaller than a row
        ('image', _image(types, T0, encoding='yuv422')),  # unknown encoding
        ('image', _image(types, T0, data=bytes(50))),  # truncated data
        ('fix', _fix(types, T0, lat=math.nan)),
        ('fix', _fix(types, T0, status=STATUS_NO_FIX)),
    ]


def _values(diag_msgs) -> dict[str, str]:
    if not diag_msgs:
        return {}
    status = {s.name: s for s in diag_msgs[-1].status}.get('cvseq_localizer: inputs')
    return {kv.key: kv.value for kv in status.values} if status else {}


def test_malformed_inputs_are_counted_and_reported(ros_context):
    from diagnostic_msgs.msg import DiagnosticArray
    from geometry_msgs.msg import PoseWithCovarianceStamped
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data

    from cvseq_localizer.ros.node import LocalizerNode

    types = rclpy_types()
    params = [Parameter('allow_gnss_only', value=True), Parameter('model_path', value='/nope.pt'),
              Parameter('diagnostics_period_s', value=0.1)]  # fmt: skip
    node = LocalizerNode(context=ros_context, parameter_overrides=params)
    assert node.localizer.engine is None  # missing model, GNSS-only allowed
    probe = Node('probe', context=ros_context)
    pubs = {
        'image': probe.create_publisher(types.Image, '/camera/image_raw', qos_profile_sensor_data),
        'fix': probe.create_publisher(types.NavSatFix, '/gnss/fix', qos_profile_sensor_data),
    }
    poses = Collector(probe, PoseWithCovarianceStamped, '/cvloc/pose')
    diags = Collector(probe, DiagnosticArray, '/diagnostics')
    with spinning(ros_context, node, probe):
        for pub in pubs.values():
            wait_until(lambda p=pub: p.get_subscription_count() > 0, 10.0, 'node subscriptions')
        for kind, msg in _bad_messages(types):
            pubs[kind].publish(msg)
        wait_until(lambda: node.counters.images + node.counters.fixes >= 6, 10.0, 'bad inputs')
        for k in range(GOOD_FIXES):  # the core's automatic datum waits for agreeing fixes
            pubs['fix'].publish(_fix(types, T0 + 10**8 + k * 10**6))
        wait_until(lambda: node.counters.fixes >= 2 + GOOD_FIXES, 10.0, 'good fixes')
        pubs['image'].publish(_image(types, T0 + 2 * 10**8))
        wait_until(lambda: len(poses.messages) >= 1, 10.0, 'a pose after the bad inputs')
        wait_until(lambda: _values(diags.messages).get('poses') == '1', 10.0, 'diagnostics')
    values = _values(diags.messages)
    expected = {'bad_image_size': '2', 'bad_image_step': '1', 'bad_image_encoding': '1',
                'bad_fix_invalid_position': '1', 'bad_fix_no_fix': '1', 'unusable_fixes': '2',
                'images': '5', 'fixes': str(2 + GOOD_FIXES)}  # fmt: skip
    assert {k: values.get(k) for k in expected} == expected
    names = {s.name: s for s in diags.messages[-1].status}
    assert names['cvseq_localizer: inputs'].level == b'\x01'  # WARN
    assert names['cvseq_localizer: model'].message.startswith('no network')
    pose = poses.messages[0].pose.pose.position
    assert math.isfinite(pose.x) and math.isfinite(pose.y)
    assert all(math.isfinite(v) for v in poses.messages[0].pose.covariance)
