"""A converted KITTI bag played into the running node gives the poses `cvseq-replay` computes.

The bag is `cvseq-convert kitti --odom-noise [--compress jpeg]` of a fixture drive in the real
KITTI raw layout (real calibration and image size, textured frames); the satellite tiles are an
MBTiles the test writes along the route.csv; the engine is the default geometric matcher, which
projects the frames with the camera. Replay takes that camera from the bag's camera.json, the
node from /camera/camera_info plus the mount (TF /tf_static when tf2_ros is importable, else the
camera_mount.* parameters, which the test sets from camera.json as a user would).
"""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from ros_testkit import (
    FIX,
    IMAGE,
    INFO,
    ODOM,
    TF_STATIC,
    assert_same_poses,
    camera_numbers,
    node_parameters,
    play_into_node,
    replayed_poses,
)

from cvseq_localizer.data.kitti_calib import kitti_camera
from cvseq_localizer.geo.camera import CameraModel
from cvseq_localizer.shipped import GEOMETRIC_MODEL
from cvseq_localizer.tools.convert import main as convert_main
from cvseq_localizer.tools.convert_msgs import COMPRESSED_TOPIC as COMPRESSED
from cvseq_localizer.tools.replay import pipeline_for_bag

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'data'))  # the dataset fixtures
from convert_fixtures import texture_kitti_frames, write_kitti_raw, write_route_mbtiles  # noqa: E402
from fixtures import straight_drive  # noqa: E402

pytestmark = pytest.mark.ros
SEED = 5
N_FRAMES = 30  # 3 s at 10 Hz: the filter's heading settles and the matcher runs on the last ones
ZOOM = 19
HAVE_TF2 = importlib.util.find_spec('tf2_ros') is not None


@pytest.fixture(scope='module')
def kitti_drive(tmp_path_factory):
    """``(drive, tiles spec)``: the textured fixture drive and tiles along its route."""
    root = tmp_path_factory.mktemp('kitti_dds')
    drive = write_kitti_raw(root, straight_drive(N_FRAMES, 1.0))
    texture_kitti_frames(drive, seed=1)
    plain = root / 'plain'  # only for its route.csv, as `cvseq-tiles prefill --route` uses it
    assert convert_main(['kitti', str(drive), '--out', str(plain), '--quiet']) == 0
    assert write_route_mbtiles(plain / 'route.csv', root / 'route.mbtiles', ZOOM, 100.0) > 0
    return drive, f'mbtiles://{root / "route.mbtiles"}'


# rgb8 Image, and JPEG CompressedImage (decoded by the node's and replay's same function).
@pytest.mark.parametrize('compress, image_topic', [('none', IMAGE), ('jpeg', COMPRESSED)])
def test_played_converted_bag_gives_replay_poses(
    kitti_drive, ros_context, tmp_path, compress, image_topic
):
    drive, tiles = kitti_drive
    bag = tmp_path / 'bag'
    assert convert_main(['kitti', str(drive), '--out', str(bag), '--quiet', '--odom-noise',
                         '--compress', compress]) == 0  # fmt: skip
    camera = CameraModel.from_dict(json.loads((bag / 'camera.json').read_text()))
    assert camera == kitti_camera(drive.parent)  # the KITTI calibration chain, not a default
    cfg = pipeline_for_bag(bag, GEOMETRIC_MODEL, tiles=tiles, zoom=ZOOM, seed=SEED)
    assert cfg.camera == camera and cfg.tile_deadline_s is None
    expected = replayed_poses(bag, tmp_path / 'replay', cfg, image_topic)
    values = {'model_path': GEOMETRIC_MODEL, 'tiles': tiles, 'tile_zoom': ZOOM,
              'tile_deadline_s': -1.0, 'seed': SEED, 'odom_topic': ODOM,
              'image_topic': image_topic}  # fmt: skip
    topics = [image_topic, FIX, INFO, ODOM] + ([TF_STATIC] if HAVE_TF2 else [])
    played = play_into_node(ros_context, bag, node_parameters(values, camera), len(expected),
                            topics, camera_frame='camera')  # fmt: skip
    assert played.published[image_topic] == N_FRAMES and played.published[ODOM] == N_FRAMES
    assert played.dropped == 0
    assert played.mount_source == ('tf' if HAVE_TF2 else 'parameters')
    # The frames went with the bag's camera (the first arrives before its camera_info and
    # goes with the Localizer's own: none for the geometric matcher, no position yet anyway).
    assert len(played.cameras) == N_FRAMES and played.cameras[0] is None
    tol = 1e-6 if HAVE_TF2 else 0.0  # TF: the mount went through a quaternion
    for cam in played.cameras[1:]:
        np.testing.assert_allclose(camera_numbers(cam), camera_numbers(camera), rtol=0, atol=tol)
    # Same stamps, same poses: deterministic engine and filter, same inputs in the same order.
    assert len(expected) >= N_FRAMES - 4
    assert_same_poses(played.poses, expected, atol_m=1e-3 if HAVE_TF2 else 1e-9)
    health = played.health
    assert health.frames_with_network >= 5, 'the matcher hardly ran'
    assert health.odometry_used > 0 and health.reinitializations == 0
    net = [row for row in expected.values() if row['net_lat_deg'] != 'nan']
    assert len(net) == health.frames_with_network
