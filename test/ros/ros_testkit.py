"""Helpers for the ROS tests: scenario and model files, a spinning executor, bounded waits, and
playing a bag into a running node next to ``cvseq-replay`` on the same bag."""

import csv
import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cvseq_localizer.model import build_model
from cvseq_localizer.model.checkpoint import save_checkpoint
from cvseq_localizer.model.config import ModelConfig
from cvseq_localizer.ros.conversions import stamp_to_ns
from cvseq_localizer.sim.scenario import SimConfig
from cvseq_localizer.sim.world import WorldConfig
from cvseq_localizer.tools.sim_cli import write_scenario

SIM = SimConfig(world=WorldConfig(size_m=200.0), duration_s=4.0)
IMAGE, FIX, INFO, ODOM = '/camera/image_raw', '/gnss/fix', '/camera/camera_info', '/odom'
TF_STATIC = '/tf_static'
PLAY_TIMEOUT_S = 30.0
SIM_SEED = 3
SAT_SIZE, GROUND_SIZE = 64, (32, 64)


def make_scenario(out: Path, config: SimConfig = SIM) -> tuple[Path, dict]:
    path = write_scenario(out, config, SIM_SEED)
    return out, json.loads(path.read_text())


def make_tiny_checkpoint(path: Path) -> Path:
    config = ModelConfig.preset('tiny', sat_size=SAT_SIZE, ground_size=GROUND_SIZE)
    return save_checkpoint(build_model(config), path, extra={'sat_ground_m': 64.0})


def wait_until(predicate, timeout_s: float, what: str, period_s: float = 0.005) -> None:
    """Poll ``predicate`` until true; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f'timed out after {timeout_s} s waiting for {what}')
        time.sleep(period_s)


@contextmanager
def spinning(context, *nodes):
    """Spin ``nodes`` on a background executor; stop and destroy them on exit."""
    from rclpy.executors import SingleThreadedExecutor

    executor = SingleThreadedExecutor(context=context)
    for node in nodes:
        executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    try:
        yield executor
    finally:
        executor.shutdown(timeout_sec=5.0)
        thread.join(5.0)
        for node in nodes:
            node.destroy_node()
        assert not thread.is_alive(), 'executor thread did not stop'


class Collector:
    """Subscribe ``node`` to ``topic`` and keep every message (thread-safe)."""

    def __init__(self, node, msg_type, topic: str, qos=None):
        from rclpy.qos import QoSProfile, ReliabilityPolicy

        qos = qos or QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE)
        self._lock = threading.Lock()
        self._messages = []
        self.sub = node.create_subscription(msg_type, topic, self._on_msg, qos)

    def _on_msg(self, msg) -> None:
        with self._lock:
            self._messages.append(msg)

    @property
    def messages(self) -> list:
        with self._lock:
            return list(self._messages)


# ------------------------------------------------------------------ node vs cvseq-replay
def replayed_poses(
    bag: Path, out_dir: Path, pipeline, image_topic: str = IMAGE
) -> dict[int, dict]:
    """``cvseq-replay``'s ``poses.csv`` rows of ``bag`` (run with ``pipeline``) by stamp."""
    from cvseq_localizer.tools.replay import ReplayOptions, replay

    options = ReplayOptions(image_topic, progress=False, pipeline=pipeline)
    result = replay(bag, out_dir, options)
    with open(result.csv_path) as fh:
        return {int(row['stamp_ns']): row for row in csv.DictReader(fh)}


def node_parameters(values: dict[str, Any], camera) -> list:
    """``values`` plus the ``camera_mount.*`` of ``camera`` (the node's mount without tf2_ros)
    and ``use_sim_time`` (``/clock`` from cvseq-play) as rclpy Parameters."""
    from rclpy.parameter import Parameter

    m = camera.mount
    mount = {'x': m.x_m, 'y': m.y_m, 'z': m.z_m, 'roll': m.roll_rad, 'pitch': m.pitch_rad,
             'yaw': m.yaw_rad}  # fmt: skip
    values = {**values, **{f'camera_mount.{k}': float(v) for k, v in mount.items()}}
    params = [Parameter(k, value=v) for k, v in values.items()]
    return params + [Parameter('use_sim_time', value=True)]


def pacer(node, camera_frame: str = ''):
    """after_publish hook: wait until the node has consumed each message (no drops, bag order).
    ``/tf_static`` waits until TF knows ``base_frame -> camera_frame``."""
    image, base = node.settings.image_topic, node.settings.base_frame
    sent = dict.fromkeys([image, FIX, INFO, ODOM, TF_STATIC], 0)
    done = {
        FIX: lambda: node.counters.fixes,
        image: lambda: node.worker.processed,
        INFO: lambda: node.camera.infos,
        ODOM: lambda: node.counters.odometry,
        TF_STATIC: lambda: int(node.frames.transform(base, camera_frame) is not None),
    }

    def wait(topic: str, _stamp_ns: int) -> None:
        sent[topic] += 1
        wait_until(lambda: done[topic]() >= sent[topic], PLAY_TIMEOUT_S, f'the {topic} message')

    return wait


def record_cameras(node) -> list:
    """Wrap the node's ``Localizer.on_image`` to record the camera passed with each frame."""
    cameras, on_image = [], node.localizer.on_image

    def recording(stamp_ns, rgb, camera=None):
        cameras.append(camera)
        return on_image(stamp_ns, rgb, camera=camera)

    node.localizer.on_image = recording
    return cameras


@dataclass
class PlayedRun:
    """What the node did with a played bag."""

    poses: dict[int, Any]  # network poses (GNSS-only ones left out) by header stamp
    published: dict[str, int]  # messages played per topic
    cameras: list  # the camera passed to on_image with each frame (None: the Localizer's own)
    dropped: int  # frames the latest-frame worker dropped
    clock_ns: int  # the node's clock after playing (follows the bag's /clock)
    health: Any  # LocalizerHealth
    mount_source: str  # where the node took the camera mount from ('tf' or 'parameters')
    debug_images: list


def play_into_node(context, bag: Path, params: list, n_poses: int, topics: list[str],
                   camera_frame: str = '') -> PlayedRun:  # fmt: skip
    """Start a LocalizerNode with ``params``, play ``topics`` of ``bag`` into it through DDS
    (paced: every message consumed before the next), wait for ``n_poses`` network poses."""
    from geometry_msgs.msg import PoseWithCovarianceStamped
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    from cvseq_localizer.ros.node import GNSS_ONLY_Z_VARIANCE, LocalizerNode
    from cvseq_localizer.tools.play import PlayOptions, play

    node = LocalizerNode(context=context, parameter_overrides=params)
    cameras = record_cameras(node)
    probe = Node('probe', context=context)
    player = Node('player', context=context)
    poses = Collector(probe, PoseWithCovarianceStamped, '/cvloc/pose')
    debug = Collector(probe, Image, '/cvloc/debug_image', qos=qos_profile_sensor_data)

    def network() -> list:
        return [m for m in poses.messages if m.pose.covariance[14] != GNSS_ONLY_Z_VARIANCE]

    with spinning(context, node, probe, player):
        wait_until(lambda: poses.sub.get_publisher_count() > 0, 10.0, 'pose publisher')
        options = PlayOptions(rate=100.0, topics=list(topics), wait_for_subscribers_s=10.0,
                              after_publish=pacer(node, camera_frame))  # fmt: skip
        result = play(bag, options, player)
        wait_until(lambda: len(network()) >= n_poses, PLAY_TIMEOUT_S, f'{n_poses} poses')
        run = PlayedRun(
            {stamp_to_ns(m.header.stamp): m for m in network()}, dict(result.published),
            cameras, node.worker.dropped, node.get_clock().now().nanoseconds,
            node.localizer.health(), node.camera.mount_source, debug.messages,
        )  # fmt: skip
    return run


def assert_same_poses(got: dict[int, Any], expected: dict[int, dict], atol_m: float) -> None:
    """The node's poses equal replay's rows: same stamps; position, yaw and the position
    covariance within ``atol_m`` (m, rad, m^2)."""
    from cvseq_localizer.ros.conversions import quaternion_to_yaw

    assert sorted(got) == sorted(expected)
    for stamp, row in expected.items():
        assert got[stamp].header.frame_id == 'map'
        pose = got[stamp].pose
        p = pose.pose.position
        np.testing.assert_allclose(
            [p.x, p.y, quaternion_to_yaw(pose.pose.orientation)],
            [float(row['east_m']), float(row['north_m']), float(row['yaw_rad'])],
            rtol=0, atol=atol_m, err_msg=f'pose at {stamp}',
        )  # fmt: skip
        cov = np.asarray(pose.covariance).reshape(6, 6)
        np.testing.assert_allclose(
            [cov[0, 0], cov[0, 1], cov[1, 1]],
            [float(row['cov_ee_m2']), float(row['cov_en_m2']), float(row['cov_nn_m2'])],
            rtol=1e-9, atol=atol_m, err_msg=f'covariance at {stamp}',
        )  # fmt: skip


def camera_numbers(camera) -> list[float]:
    """Every number of a pinhole ``CameraModel`` (intrinsics, distortion, mount), in order."""
    d = camera.to_dict()
    mount = d.pop('mount')
    model = d.pop('distortion_model')
    assert model == 'none'  # an ideal pinhole; camera_info's zeros map to it
    return (
        [float(v) for v in d.pop('distortion')]
        + [float(v) for v in d.values()]
        + [float(v) for v in mount.values()]
    )
