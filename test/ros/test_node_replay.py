"""A simulated bag played into the running node gives the poses `cvseq-replay` computes offline.

The bag is `cvseq-sim --camera wide --fix-latency-ms 300` (a non-default camera with its
/camera/camera_info, fixes arriving 300 ms late, wheel odometry on /odom): the node takes the
camera from camera_info (mount from the camera_mount.* parameters: tf2_ros is not in the wheels)
where replay takes the scenario's camera; they must be the same camera.
"""

import csv
from dataclasses import replace

import numpy as np
import pytest
from rclpy.parameter import Parameter
from ros_testkit import Collector, spinning, wait_until

from cvseq_localizer.geo.camera import CameraModel
from cvseq_localizer.pipeline import PipelineConfig
from cvseq_localizer.ros.conversions import quaternion_to_yaw, stamp_to_ns
from cvseq_localizer.ros.node_callbacks import GNSS_ONLY_Z_VARIANCE
from cvseq_localizer.sim.camera import CAMERAS
from cvseq_localizer.tools.play import PlayOptions, play
from cvseq_localizer.tools.replay import ReplayOptions, replay

pytestmark = pytest.mark.ros
SEED = 11
IMAGE, FIX, INFO, ODOM = '/camera/image_raw', '/gnss/fix', '/camera/camera_info', '/odom'
TIMEOUT_S = 30.0


@pytest.fixture(scope='module')
def wide_run(tmp_path_factory):
    from ros_testkit import SIM, make_scenario

    config = replace(SIM, camera=CAMERAS['wide'], fix_latency_s=0.3)
    return make_scenario(tmp_path_factory.mktemp('wide'), config)


def _replayed_poses(bag, tmp_path, model, tiles, zoom) -> dict[int, dict]:
    cfg = PipelineConfig(model_path=str(model), engine='torch', tiles=tiles, tile_zoom=zoom,
                         seed=SEED, tile_deadline_s=None)  # fmt: skip
    result = replay(bag, tmp_path / 'replay', ReplayOptions(progress=False, pipeline=cfg))
    with open(result.csv_path) as fh:
        return {int(row['stamp_ns']): row for row in csv.DictReader(fh)}


def _node_params(model, tiles, zoom, camera: CameraModel) -> list[Parameter]:
    values = {'model_path': str(model), 'engine': 'torch', 'tiles': tiles, 'tile_zoom': zoom,
              'tile_deadline_s': -1.0, 'seed': SEED, 'publish_debug_image': True,
              'odom_topic': ODOM}  # fmt: skip
    m = camera.mount
    mount = {'x': m.x_m, 'y': m.y_m, 'z': m.z_m, 'roll': m.roll_rad, 'pitch': m.pitch_rad,
             'yaw': m.yaw_rad}  # fmt: skip
    values.update({f'camera_mount.{k}': float(v) for k, v in mount.items()})
    params = [Parameter(k, value=v) for k, v in values.items()]
    return params + [Parameter('use_sim_time', value=True)]  # /clock from cvseq-play


def _pacer(node):
    """after_publish hook: wait until the node has consumed each message (no drops, bag order)."""
    sent = {IMAGE: 0, FIX: 0, INFO: 0, ODOM: 0}
    done = {FIX: lambda: node.counters.fixes, IMAGE: lambda: node.worker.processed,
            INFO: lambda: node.camera.infos, ODOM: lambda: node.counters.odometry}  # fmt: skip

    def wait(topic: str, _stamp_ns: int) -> None:
        sent[topic] += 1
        wait_until(lambda: done[topic]() >= sent[topic], TIMEOUT_S, f'the {topic} message')

    return wait


def _record_cameras(node) -> list:
    """Wrap the node's ``Localizer.on_image`` to record the camera passed with each frame."""
    cameras, on_image = [], node.localizer.on_image

    def recording(stamp_ns, rgb, camera=None):
        cameras.append(camera)
        return on_image(stamp_ns, rgb, camera=camera)

    node.localizer.on_image = recording
    return cameras


def test_played_bag_gives_replay_poses(wide_run, tiny_checkpoint, ros_context, tmp_path):
    from geometry_msgs.msg import PoseWithCovarianceStamped
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    from cvseq_localizer.ros.node import LocalizerNode

    run, scenario = wide_run
    camera = CameraModel.from_dict(scenario['camera'])
    assert camera == CAMERAS['wide'] and scenario['fix_latency_s'] == 0.3
    tiles, zoom = f'mbtiles://{run / "tiles.mbtiles"}', int(scenario['tile_zoom'])
    expected = _replayed_poses(run / 'bag', tmp_path, tiny_checkpoint, tiles, zoom)
    params = _node_params(tiny_checkpoint, tiles, zoom, camera)
    node = LocalizerNode(context=ros_context, parameter_overrides=params)
    cameras = _record_cameras(node)
    probe = Node('probe', context=ros_context)
    player = Node('player', context=ros_context)
    poses = Collector(probe, PoseWithCovarianceStamped, '/cvloc/pose')
    debug = Collector(probe, Image, '/cvloc/debug_image', qos=qos_profile_sensor_data)
    with spinning(ros_context, node, probe, player):
        wait_until(lambda: poses.sub.get_publisher_count() > 0, 10.0, 'pose publisher')
        options = PlayOptions(rate=100.0, topics=[IMAGE, FIX, INFO, ODOM],
                              wait_for_subscribers_s=10.0, after_publish=_pacer(node))  # fmt: skip
        result = play(run / 'bag', options, player)
        assert result.published[IMAGE] == 40 and result.published[INFO] == 40
        wait_until(lambda: len(poses.messages) >= len(expected), TIMEOUT_S, 'all poses')
        assert node.worker.dropped == 0
        clock_ns = node.get_clock().now().nanoseconds  # follows the bag's /clock
        health = node.localizer.health()
    network = [m for m in poses.messages if m.pose.covariance[14] != GNSS_ONLY_Z_VARIANCE]
    got = {stamp_to_ns(m.header.stamp): m for m in network}
    assert sorted(got) == sorted(expected) and len(expected) >= 30
    assert max(expected) <= clock_ns < max(expected) + 10**9
    assert health.frames_with_network > 0, 'the network never ran'
    assert health.reinitializations == 0 and health.odometry_used > 0
    # (the first frame is recorded just before its camera_info: it goes with the Localizer's own)
    assert len(cameras) == 40 and all(c is not None for c in cameras[1:])
    for cam in cameras[1:]:  # the camera_info camera is the scenario's camera
        assert cam.to_dict().keys() == camera.to_dict().keys()
        np.testing.assert_allclose(_numbers(cam), _numbers(camera), rtol=0, atol=1e-9)
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


def _numbers(camera: CameraModel) -> list[float]:
    d = camera.to_dict()
    mount = d.pop('mount')
    model = d.pop('distortion_model')
    assert model == 'none'  # the wide preset is an ideal pinhole; camera_info's zeros map to it
    return (
        [float(v) for v in d.pop('distortion')]
        + [float(v) for v in d.values()]
        + [float(v) for v in mount.values()]
    )
