"""A simulated bag played into the running node gives the poses `cvseq-replay` computes offline.

The bag is `cvseq-sim --camera wide --fix-latency-ms 300` (a non-default camera with its
/camera/camera_info, fixes arriving 300 ms late, wheel odometry on /odom): the node takes the
camera from camera_info (mount from the camera_mount.* parameters: tf2_ros is not in the wheels)
where replay takes the scenario's camera; they must be the same camera.
"""

from dataclasses import replace

import numpy as np
import pytest
from ros_testkit import (
    FIX,
    IMAGE,
    INFO,
    ODOM,
    assert_same_poses,
    camera_numbers,
    node_parameters,
    play_into_node,
    replayed_poses,
)

from cvseq_localizer.geo.camera import CameraModel
from cvseq_localizer.pipeline import PipelineConfig
from cvseq_localizer.sim.camera import CAMERAS

pytestmark = pytest.mark.ros
SEED = 11


@pytest.fixture(scope='module')
def wide_run(tmp_path_factory):
    from ros_testkit import SIM, make_scenario

    config = replace(SIM, camera=CAMERAS['wide'], fix_latency_s=0.3)
    return make_scenario(tmp_path_factory.mktemp('wide'), config)


def test_played_bag_gives_replay_poses(wide_run, tiny_checkpoint, ros_context, tmp_path):
    run, scenario = wide_run
    camera = CameraModel.from_dict(scenario['camera'])
    assert camera == CAMERAS['wide'] and scenario['fix_latency_s'] == 0.3
    tiles, zoom = f'mbtiles://{run / "tiles.mbtiles"}', int(scenario['tile_zoom'])
    cfg = PipelineConfig(model_path=str(tiny_checkpoint), engine='torch', tiles=tiles,
                         tile_zoom=zoom, seed=SEED, tile_deadline_s=None)  # fmt: skip
    expected = replayed_poses(run / 'bag', tmp_path / 'replay', cfg)
    values = {'model_path': str(tiny_checkpoint), 'engine': 'torch', 'tiles': tiles,
              'tile_zoom': zoom, 'tile_deadline_s': -1.0, 'seed': SEED,
              'publish_debug_image': True, 'odom_topic': ODOM}  # fmt: skip
    played = play_into_node(ros_context, run / 'bag', node_parameters(values, camera),
                            len(expected), [IMAGE, FIX, INFO, ODOM])  # fmt: skip
    assert played.published[IMAGE] == 40 and played.published[INFO] == 40
    assert played.dropped == 0
    assert len(expected) >= 30
    assert_same_poses(played.poses, expected, atol_m=1e-6)
    assert max(expected) <= played.clock_ns < max(expected) + 10**9
    health = played.health
    assert health.frames_with_network > 0, 'the network never ran'
    assert health.reinitializations == 0 and health.odometry_used > 0
    # (the first frame is recorded just before its camera_info: it goes with the Localizer's own)
    cameras = played.cameras
    assert len(cameras) == 40 and all(c is not None for c in cameras[1:])
    for cam in cameras[1:]:  # the camera_info camera is the scenario's camera
        assert cam.to_dict().keys() == camera.to_dict().keys()
        np.testing.assert_allclose(camera_numbers(cam), camera_numbers(camera), rtol=0, atol=1e-9)
    assert played.debug_images and played.debug_images[-1].encoding == 'rgb8'
