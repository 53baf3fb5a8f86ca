"""A simulated bag played into the running node gives the poses `cvseq-replay` computes offline."""

import csv

import numpy as np
import pytest
from rclpy.parameter import Parameter
from ros_testkit import Collector, spinning, wait_until

from cvseq_localizer.pipeline import PipelineConfig
from cvseq_localizer.ros.conversions import quaternion_to_yaw, stamp_to_ns
from cvseq_localizer.tools.play import PlayOptions, play
from cvseq_localizer.tools.replay import ReplayOptions, replay

pytestmark = pytest.mark.ros
SEED = 11
IMAGE, FIX = '/camera/image_raw', '/gnss/fix'
TIMEOUT_S = 30.0


def _replayed_poses(bag, tmp_path, model, tiles, zoom) -> dict[int, dict]:
    cfg = PipelineConfig(model_path=str(model), engine='torch', tiles=tiles, tile_zoom=zoom,
                         seed=SEED, tile_deadline_s=None)  # fmt: skip
    result = replay(bag, tmp_path / 'replay', ReplayOptions(progress=False, pipeline=cfg))
    with open(result.csv_path) as fh:
        return {int(row['stamp_ns']): row for row in csv.DictReader(fh)}


def _node_params(model, tiles, zoom) -> list[Parameter]:
    values = {'model_path': str(model), 'engine': 'torch', 'tiles': tiles, 'tile_zoom': zoom,
              'tile_deadline_s': -1.0, 'seed': SEED, 'publish_debug_image': True}  # fmt: skip
    params = [Parameter(k, value=v) for k, v in values.items()]
    return params + [Parameter('use_sim_time', value=True)]  # /clock from cvseq-play


def _pacer(node):
    """after_publish hook: wait until the node has consumed each message (no drops, bag order)."""
    sent = {IMAGE: 0, FIX: 0}

    def wait(topic: str, _stamp_ns: int) -> None:
        sent[topic] += 1
        if topic == FIX:
            wait_until(lambda: node.counters.fixes >= sent[FIX], TIMEOUT_S, 'the fix')
        else:
            wait_until(lambda: node.worker.processed >= sent[IMAGE], TIMEOUT_S, 'the frame')

    return wait


def test_played_bag_gives_replay_poses(sim_run, tiny_checkpoint, ros_context, tmp_path):
    from geometry_msgs.msg import PoseWithCovarianceStamped
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    from cvseq_localizer.ros.node import LocalizerNode

    run, scenario = sim_run
    tiles, zoom = f'mbtiles://{run / "tiles.mbtiles"}', int(scenario['tile_zoom'])
    expected = _replayed_poses(run / 'bag', tmp_path, tiny_checkpoint, tiles, zoom)
    params = _node_params(tiny_checkpoint, tiles, zoom)
    node = LocalizerNode(context=ros_context, parameter_overrides=params)
    probe = Node('probe', context=ros_context)
    player = Node('player', context=ros_context)
    poses = Collector(probe, PoseWithCovarianceStamped, '/cvloc/pose')
    debug = Collector(probe, Image, '/cvloc/debug_image', qos=qos_profile_sensor_data)
    with spinning(ros_context, node, probe, player):
        wait_until(lambda: poses.sub.get_publisher_count() > 0, 10.0, 'pose publisher')
        options = PlayOptions(rate=100.0, topics=[IMAGE, FIX], wait_for_subscribers_s=10.0,
                              after_publish=_pacer(node))  # fmt: skip
        result = play(run / 'bag', options, player)
        assert result.published == {IMAGE: 40, FIX: 40}
        wait_until(lambda: len(poses.messages) >= len(expected), TIMEOUT_S, 'all poses')
        assert node.worker.dropped == 0
        clock_ns = node.get_clock().now().nanoseconds  # follows the bag's /clock
        health = node.localizer.health()
    got = {stamp_to_ns(m.header.stamp): m for m in poses.messages}
    assert sorted(got) == sorted(expected) and len(expected) >= 30
    assert max(expected) <= clock_ns < max(expected) + 10**9
    assert health.frames_with_network > 0, 'the network never ran'
    for stamp, row in expected.items():
        pose = got[stamp].pose
        assert got[stamp].header.frame_id == 'map'
        np.testing.assert_allclose(
            [pose.pose.position.x, pose.pose.position.y, quaternion_to_yaw(pose.pose.orientation)],
            [float(row['east_m']), float(row['north_m']), float(row['yaw_rad'])],
            rtol=0,
            atol=1e-6,
        )
        cov = np.asarray(pose.covariance).reshape(6, 6)
        np.testing.assert_allclose(
            [cov[0, 0], cov[0, 1], cov[1, 1]],
            [float(row['cov_ee_m2']), float(row['cov_en_m2']), float(row['cov_nn_m2'])],
            rtol=1e-9,
            atol=1e-9,
        )
    assert debug.messages and debug.messages[-1].encoding == 'rgb8'
