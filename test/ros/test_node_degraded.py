"""The camera stops: GNSS-only poses at the configured rate and a WARN diagnostic; it returns:
network poses again and OK. Real rclpy over DDS, stamps from a simulated bag (no wall clock in
the assertions: the rate and the timeout are judged on header stamps)."""

import pytest
from rclpy.parameter import Parameter
from ros_testkit import Collector, spinning, wait_until

from cvseq_localizer.ros.conversions import stamp_to_ns
from cvseq_localizer.ros.node_callbacks import GNSS_ONLY_Z_VARIANCE
from cvseq_localizer.tools.bagio import raw_messages

pytestmark = pytest.mark.ros
IMAGE, FIX = '/camera/image_raw', '/gnss/fix'
TIMEOUT_S, CAMERA_TIMEOUT_S, GNSS_ONLY_HZ = 30.0, 1.0, 5.0
GAP_S = (1.2, 3.0)  # bag time (from the first message) without camera frames


def _statuses(diags) -> dict:
    return {s.name: s for s in diags.messages[-1].status} if diags.messages else {}


def _level(diags, name: str) -> int:
    status = _statuses(diags).get(name)
    return -1 if status is None else status.level[0]


def _gnss_only(msg) -> bool:
    return msg.pose.covariance[14] == GNSS_ONLY_Z_VARIANCE


def test_camera_outage_gives_gnss_only_poses_then_network_again(
    sim_run, tiny_checkpoint, ros_context
):
    from diagnostic_msgs.msg import DiagnosticArray
    from geometry_msgs.msg import PoseWithCovarianceStamped
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image, NavSatFix

    from cvseq_localizer.ros.node import LocalizerNode

    run, scenario = sim_run
    tiles = f'mbtiles://{run / "tiles.mbtiles"}'
    values = {'model_path': str(tiny_checkpoint), 'engine': 'torch', 'tile_deadline_s': -1.0,
              'tiles': tiles, 'tile_zoom': int(scenario['tile_zoom']),
              'camera_timeout_s': CAMERA_TIMEOUT_S, 'gnss_only_publish_hz': GNSS_ONLY_HZ,
              'diagnostics_period_s': 0.1}  # fmt: skip
    params = [Parameter(k, value=v) for k, v in values.items()]
    node = LocalizerNode(context=ros_context, parameter_overrides=params)
    probe = Node('probe', context=ros_context)
    pubs = {IMAGE: probe.create_publisher(Image, IMAGE, qos_profile_sensor_data),
            FIX: probe.create_publisher(NavSatFix, FIX, qos_profile_sensor_data)}  # fmt: skip
    poses = Collector(probe, PoseWithCovarianceStamped, '/cvloc/pose')
    diags = Collector(probe, DiagnosticArray, '/diagnostics')
    mode = 'cvseq_localizer: mode'
    messages = list(raw_messages(run / 'bag', [IMAGE, FIX]))
    t0 = messages[0][1]
    sent = {IMAGE: 0, FIX: 0}
    done = {IMAGE: lambda: node.worker.processed, FIX: lambda: node.counters.fixes}
    last_image_ns = {}

    def send(phase: int) -> None:
        for conn, log_ns, raw in messages:
            t = (log_ns - t0) * 1e-9
            if [t < GAP_S[0], GAP_S[0] <= t < GAP_S[1], t >= GAP_S[1]].index(True) != phase:
                continue
            if conn.topic == IMAGE and phase == 1:
                continue  # the camera is silent
            pubs[conn.topic].publish(raw)
            sent[conn.topic] += 1
            wait_until(lambda c=conn.topic: done[c]() >= sent[c], TIMEOUT_S, conn.topic)
            if conn.topic == IMAGE:
                last_image_ns[phase] = log_ns

    with spinning(ros_context, node, probe):
        for pub in pubs.values():
            wait_until(lambda p=pub: p.get_subscription_count() > 0, 10.0, 'subscriptions')
        send(0)
        wait_until(lambda: _level(diags, mode) == 0, TIMEOUT_S, 'mode OK with the camera')
        assert not any(_gnss_only(m) for m in poses.messages)
        n_before = len(poses.messages)
        send(1)
        wait_until(lambda: _level(diags, mode) == 1, TIMEOUT_S, 'mode WARN without camera')
        assert 'no camera frame' in _statuses(diags)[mode].message
        cam_freq = 'cvseq_localizer: camera frequency'
        wait_until(lambda: _level(diags, cam_freq) == 2, TIMEOUT_S, 'camera frequency ERROR')
        # Poses stamped after the last camera frame (a late pose of that frame can still be on
        # its way through DDS when n_before was read).
        n_outage_end = len(poses.messages)
        outage = [m for m in poses.messages[n_before:n_outage_end]
                  if stamp_to_ns(m.header.stamp) > last_image_ns[0]]  # fmt: skip
        network_before = node.localizer.health().frames_with_network
        send(2)
        wait_until(lambda: node.worker.processed >= sent[IMAGE], TIMEOUT_S, 'last frames')
        wait_until(lambda: _level(diags, mode) == 0, TIMEOUT_S, 'mode OK again')
        network_after = node.localizer.health().frames_with_network
        after = list(poses.messages[n_outage_end:])
    stamps = [stamp_to_ns(m.header.stamp) for m in outage]
    assert outage and all(_gnss_only(m) for m in outage)
    assert len(outage) >= 3
    # within camera_timeout_s (+ one fix period) of the last frame's stamp, at <= the set rate
    first_delay_s = (stamps[0] - last_image_ns[0]) * 1e-9
    assert CAMERA_TIMEOUT_S < first_delay_s <= CAMERA_TIMEOUT_S + 0.1 + 1e-3
    gaps_s = [(b - a) * 1e-9 for a, b in zip(stamps, stamps[1:], strict=False)]
    assert all(1 / GNSS_ONLY_HZ - 1e-3 <= g <= 1 / GNSS_ONLY_HZ + 0.1 + 1e-3 for g in gaps_s)
    # camera back: network poses (not flagged), the network ran again
    camera_poses = [m for m in after if not _gnss_only(m)]
    assert camera_poses and network_after > network_before
    assert min(stamp_to_ns(m.header.stamp) for m in camera_poses) >= t0 + GAP_S[1] * 1e9
