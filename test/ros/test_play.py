"""`cvseq-play` publishes a rosbag2 (sqlite3 here) into ROS with /clock, at the chosen rate."""

import numpy as np
import pytest
from rclpy.qos import QoSProfile
from ros_testkit import Collector, spinning, wait_until

from cvseq_localizer.ros.conversions import gnss_to_navsatfix, stamp_to_ns
from cvseq_localizer.tools.bagio import BagError, BagWriter
from cvseq_localizer.tools.play import PlayOptions, main, play
from cvseq_localizer.types import COVARIANCE_TYPE_DIAGONAL_KNOWN, GnssFix

pytestmark = pytest.mark.ros
T0 = 1_700_000_000 * 10**9
N, PERIOD_NS = 5, 100_000_000


@pytest.fixture
def fix_bag(tmp_path):
    path = tmp_path / 'fixes'
    with BagWriter(path, storage='sqlite3') as bag:
        for k in range(N):
            fix = GnssFix(T0 + k * PERIOD_NS, 49.0 + k * 1e-5, 8.4, 100.0, np.eye(3),
                          COVARIANCE_TYPE_DIAGONAL_KNOWN)  # fmt: skip
            bag.write('/gnss/fix', fix.stamp_ns, gnss_to_navsatfix(fix, 'gnss', bag.types))
    return path


class FakeClock:
    """A wall clock that only moves when ``sleep`` is called."""

    def __init__(self) -> None:
        self.now_s = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now_s

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now_s += seconds


def test_play_publishes_messages_and_clock_at_rate(fix_bag, ros_context):
    from rclpy.node import Node
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import NavSatFix

    probe, player = Node('probe', context=ros_context), Node('player', context=ros_context)
    fixes = Collector(probe, NavSatFix, '/gnss/fix')
    clock = Collector(probe, Clock, '/clock')
    fake = FakeClock()
    with spinning(ros_context, probe, player):
        options = PlayOptions(rate=4.0, wait_for_subscribers_s=10.0, monotonic=fake.monotonic,
                              sleep=fake.sleep, clock_hz=0.0)  # fmt: skip
        result = play(fix_bag, options, player)
        wait_until(lambda: len(fixes.messages) == N, 10.0, 'all fixes')
        wait_until(lambda: len(clock.messages) == N, 10.0, 'all clock ticks')
    assert result.published == {'/gnss/fix': N} and not result.skipped_topics
    # Paced at 4x: each message waits for its bag time / 4 on the (fake) wall clock.
    assert fake.sleeps == pytest.approx([PERIOD_NS * 1e-9 / 4.0] * (N - 1))
    assert result.wall_s == pytest.approx((N - 1) * PERIOD_NS * 1e-9 / 4.0)
    stamps = [stamp_to_ns(m.header.stamp) for m in fixes.messages]
    assert stamps == [T0 + k * PERIOD_NS for k in range(N)]
    assert [m.latitude for m in fixes.messages] == pytest.approx(
        [49.0 + k * 1e-5 for k in range(N)]
    )
    assert [stamp_to_ns(m.clock) for m in clock.messages] == stamps


def test_clock_ticks_at_a_fixed_rate_between_messages(fix_bag, ros_context):
    from rclpy.node import Node
    from rosgraph_msgs.msg import Clock

    probe, player = Node('probe', context=ros_context), Node('player', context=ros_context)
    clock = Collector(probe, Clock, '/clock')
    fake = FakeClock()
    hz, expected = 50.0, (N - 1) * PERIOD_NS // 20_000_000 + 1  # every 20 ms of bag time
    with spinning(ros_context, probe, player):
        options = PlayOptions(rate=4.0, wait_for_subscribers_s=10.0, monotonic=fake.monotonic,
                              sleep=fake.sleep, clock_hz=hz)  # fmt: skip
        result = play(fix_bag, options, player)
        wait_until(lambda: len(clock.messages) == expected, 10.0, 'all clock ticks')
    ticks = [stamp_to_ns(m.clock) for m in clock.messages]
    assert ticks == [T0 + k * 20_000_000 for k in range(expected)]
    assert result.published == {'/gnss/fix': N}
    assert sum(fake.sleeps) == pytest.approx((N - 1) * PERIOD_NS * 1e-9 / 4.0)
    assert all(s == pytest.approx(0.02 / 4.0) for s in fake.sleeps)  # paced tick by tick


def test_tf_static_is_latched_or_skipped_with_a_message(tmp_path, ros_context, caplog):
    from cvseq_localizer.geo.camera import CameraModel
    from cvseq_localizer.tools.play import message_class
    from cvseq_localizer.tools.sim_camera_msgs import tf_static_msg

    path = tmp_path / 'tf'
    with BagWriter(path, storage='sqlite3') as bag:
        bag.write(
            '/tf_static', T0, tf_static_msg(CameraModel(), T0, 'base_link', 'cam', bag.types)
        )
    from rclpy.node import Node

    player = Node('player', context=ros_context)
    try:
        with caplog.at_level('WARNING'):
            result = play(path, PlayOptions(clock=False), player)
        if message_class('tf2_msgs/msg/TFMessage') is None:
            assert result.skipped_topics == ['/tf_static'] and result.published == {}
            assert 'tf2_msgs/msg/TFMessage is not installed' in caplog.text
        else:  # a late subscriber still gets it: transient local
            from rclpy.qos import DurabilityPolicy
            from tf2_msgs.msg import TFMessage

            probe = Node('probe', context=ros_context)
            qos = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
            got = Collector(probe, TFMessage, '/tf_static', qos=qos)
            with spinning(ros_context, probe):
                wait_until(lambda: got.messages, 10.0, 'the latched /tf_static')
    finally:
        player.destroy_node()


def test_play_errors(fix_bag, tmp_path, ros_context):
    from rclpy.node import Node

    node = Node('player', context=ros_context)
    try:
        with pytest.raises(BagError, match='has no topic /camera'):
            play(fix_bag, PlayOptions(topics=['/camera']), node)
        with pytest.raises(BagError, match='does not exist'):
            play(tmp_path / 'nope', PlayOptions(), node)
        with pytest.raises(ValueError, match='rate'):
            play(fix_bag, PlayOptions(rate=0.0), node)
    finally:
        node.destroy_node()
    assert main([str(tmp_path / 'nope'), '--wait-for-subscribers', '0']) == 2
