"""cvseq-convert kitti on a 4-frame fixture drive in the real KITTI raw layout."""

import json
import math

import numpy as np
import pytest
from convert_testkit import (
    kitti_matrices,
    messages_by_topic,
    replay_and_evaluate,
    straight_drive,
    write_kitti_raw,
)
from rosbags.interfaces import QosDurability
from rosbags.rosbag2 import Reader

from cvseq_localizer.data.kitti_calib import KITTI_IMU_HEIGHT_M, kitti_camera
from cvseq_localizer.ros.conversions import image_msg_to_rgb, quaternion_to_yaw, stamp_to_ns
from cvseq_localizer.tiles.prefill import read_route
from cvseq_localizer.tools.convert import main
from cvseq_localizer.tools.convert_msgs import quaternion_xyzw

N = 4


@pytest.fixture(scope='module')
def kitti(tmp_path_factory):
    root = tmp_path_factory.mktemp('kitti')
    drive = write_kitti_raw(root, straight_drive(N, 1.0))
    bag = root / 'bag'
    assert main(['kitti', str(drive), '--out', str(bag), '--quiet']) == 0
    return drive, bag


def test_messages_counts_and_stamps(kitti):
    drive, bag = kitti
    msgs = messages_by_topic(bag)
    cam_lines = (drive / 'image_02' / 'timestamps.txt').read_text().splitlines()
    cam_ns = [int(np.datetime64(s.replace(' ', 'T'), 'ns').astype(np.int64)) for s in cam_lines]
    images = msgs['/camera/image_raw']
    assert [stamp_to_ns(m.msg.header.stamp) for m in images] == cam_ns
    assert [m.stamp_ns for m in images] == cam_ns
    assert [int(image_msg_to_rgb(m.msg)[0, 0, 0]) for m in images] == list(range(N))
    assert images[0].msg.encoding == 'rgb8' and images[0].msg.header.frame_id == 'camera'
    assert len(msgs['/camera/camera_info']) == N and len(msgs['/tf_static']) == 1
    # OXTS epochs are 3 ms after the camera's in the fixture.
    gt = [m.stamp_ns for m in msgs['/ground_truth/fix']]
    assert gt == [s + 3_000_000 for s in cam_ns]
    assert len(msgs['/ground_truth/odometry']) == N
    # 0.3 s of reference at 10 Hz -> 4 simulated fixes (the model may drop some).
    assert 1 <= len(msgs['/gnss/fix']) <= 4
    yaw = quaternion_to_yaw(msgs['/ground_truth/odometry'][0].msg.pose.pose.orientation)
    assert yaw == pytest.approx(0.5)  # the fixture's OXTS yaw (ENU)


def test_camera_projects_ground_point_like_the_kitti_chain(kitti):
    drive, _ = kitti
    cam = kitti_camera(drive.parent)
    m = kitti_matrices()
    chain = m['P_rect_02'] @ m['R_rect_00'] @ m['T_velo_cam'] @ m['T_imu_velo']
    ground = np.array([[10.0, 1.0], [20.0, -3.0], [9.0, 0.0]])  # base_link, z = 0
    p_imu = np.c_[ground, np.full(3, -KITTI_IMU_HEIGHT_M), np.ones(3)]
    uvw = p_imu @ chain.T
    expected = uvw[:, :2] / uvw[:, 2:]
    uv, inside = cam.ground_to_pixel(ground)
    assert inside.all()
    np.testing.assert_allclose(uv, expected, atol=0.05)
    assert cam.mount.z_m == pytest.approx(1.65, abs=0.01)  # KITTI setup: cameras at 1.65 m
    assert (cam.width_px, cam.height_px) == (1242, 375)


def test_camera_info_and_tf_match_the_camera_model(kitti):
    drive, bag = kitti
    cam = kitti_camera(drive.parent)
    msgs = messages_by_topic(bag)
    info = msgs['/camera/camera_info'][0].msg
    assert (info.width, info.height) == (1242, 375)
    np.testing.assert_allclose(info.k.reshape(3, 3), cam.K)
    np.testing.assert_allclose(info.d, 0.0)
    tf = msgs['/tf_static'][0].msg.transforms[0]
    assert (tf.header.frame_id, tf.child_frame_id) == ('base_link', 'camera')
    t = tf.transform.translation
    np.testing.assert_allclose([t.x, t.y, t.z], cam.mount.t_body_m)
    q = tf.transform.rotation
    np.testing.assert_allclose([q.x, q.y, q.z, q.w], quaternion_xyzw(cam.mount.r_body_optical()))
    with Reader(bag) as reader:
        qos = {c.topic: c.ext.offered_qos_profiles for c in reader.connections}
    assert qos['/tf_static'][0].durability == QosDurability.TRANSIENT_LOCAL
    higher = kitti_camera(drive.parent, imu_height_m=KITTI_IMU_HEIGHT_M + 0.5)
    assert higher.mount.z_m == pytest.approx(cam.mount.z_m + 0.5)
    side = json.loads((bag / 'camera.json').read_text())
    assert side['fx'] == pytest.approx(cam.fx)
    route = read_route(bag / 'route.csv')  # what `cvseq-tiles prefill --route` reads
    fixes = msgs['/ground_truth/fix']
    np.testing.assert_allclose(route, [[m.msg.latitude, m.msg.longitude] for m in fixes])


def test_output_is_deterministic_and_sqlite3_on_request(kitti, tmp_path):
    drive, bag = kitti
    again = tmp_path / bag.name  # rosbag2 names its data file after the folder
    assert main(['kitti', str(drive), '--out', str(again), '--quiet']) == 0
    for f in sorted(p.name for p in bag.iterdir()):
        assert (again / f).read_bytes() == (bag / f).read_bytes(), f
    lite = tmp_path / 'lite'
    assert main(['kitti', str(drive), '--out', str(lite), '--quiet', '--storage', 'sqlite3']) == 0
    assert list(lite.glob('*.db3')) and not list(lite.glob('*.mcap'))
    assert list(bag.glob('*.mcap'))
    assert len(messages_by_topic(lite)['/camera/image_raw']) == N


def test_time_range_and_stride(kitti, tmp_path):
    drive, _ = kitti
    out = tmp_path / 'cut'
    assert main(['kitti', str(drive), '--out', str(out), '--quiet', '--start', '0.1',
                 '--stride', '2']) == 0  # fmt: skip
    images = messages_by_topic(out)['/camera/image_raw']
    assert [int(image_msg_to_rgb(m.msg)[0, 0, 0]) for m in images] == [1, 3]


@pytest.mark.parametrize(
    'victim, needle',
    [
        ('calib_velo_to_cam.txt', 'calib_velo_to_cam.txt'),
        ('drive/oxts/data/0000000002.txt', '0000000002.txt'),
        ('drive/image_02/timestamps.txt', 'timestamps.txt'),
    ],
)
def test_missing_file_is_named(kitti, tmp_path, capsys, victim, needle):
    import shutil

    drive, _ = kitti
    copy = tmp_path / drive.parent.name
    shutil.copytree(drive.parent, copy)
    target = copy / victim.replace('drive', drive.name, 1)
    target.unlink()
    assert main(['kitti', str(copy / drive.name), '--out', str(tmp_path / 'x'), '--quiet']) == 2
    err = capsys.readouterr().err
    assert needle in err and 'error' in err


def test_malformed_calibration_is_named(kitti, tmp_path, capsys):
    import shutil

    drive, _ = kitti
    copy = tmp_path / drive.parent.name
    shutil.copytree(drive.parent, copy)
    c2c = copy / 'calib_cam_to_cam.txt'
    c2c.write_text(c2c.read_text().replace('P_rect_02: 7.215377e+02', 'P_rect_02:'))
    assert main(['kitti', str(copy / drive.name), '--out', str(tmp_path / 'x'), '--quiet']) == 2
    err = capsys.readouterr().err
    assert 'calib_cam_to_cam.txt' in err and 'P_rect_02' in err


def test_converted_bag_replays_and_evaluates(kitti, tmp_path):
    _, bag = kitti
    assert replay_and_evaluate(bag, tmp_path) == (0, 0)
    msgs = messages_by_topic(bag)
    # A pose for every frame once the automatic datum has its 3 agreeing fixes.
    datum_fix = msgs['/gnss/fix'][2].stamp_ns
    after = [m for m in msgs['/camera/image_raw'] if m.stamp_ns >= datum_fix]
    assert after
    assert len((tmp_path / 'replay' / 'poses.csv').read_text().splitlines()) == 1 + len(after)
    report = (tmp_path / 'eval' / 'report.md').read_text()
    assert 'raw GNSS' in report and 'filter: GNSS only' in report


def test_odom_from_oxts_velocities(kitti, tmp_path):
    drive, _ = kitti
    out = tmp_path / 'odom'
    assert main(['kitti', str(drive), '--out', str(out), '--quiet', '--odom']) == 0
    odom = [m.msg for m in messages_by_topic(out)['/odom']]
    assert len(odom) == N and odom[0].header.frame_id == 'odom'
    tw = odom[0].twist.twist  # fixture OXTS: vf 5.0, vl 0.1, wu 0.01
    assert (tw.linear.x, tw.linear.y, tw.angular.z) == pytest.approx((5.0, 0.1, 0.01))
    # Forward Euler over 0.1 s steps: after one step (0.5, 0.01) at yaw 0.001.
    p = odom[1].pose.pose
    assert (p.position.x, p.position.y) == pytest.approx((0.5, 0.01))
    assert quaternion_to_yaw(p.orientation) == pytest.approx(0.001)
    c, s = math.cos(0.001), math.sin(0.001)
    p2 = odom[2].pose.pose.position
    assert (p2.x, p2.y) == pytest.approx(
        (0.5 + 0.1 * (5 * c - 0.1 * s), 0.01 + 0.1 * (5 * s + 0.1 * c))
    )


def test_corrupt_image_is_named_and_leaves_no_half_bag(kitti, tmp_path, capsys):
    import shutil

    drive, _ = kitti
    copy = tmp_path / drive.parent.name
    shutil.copytree(drive.parent, copy)
    (copy / drive.name / 'image_02' / 'data' / '0000000002.png').write_bytes(b'not a png')
    out = tmp_path / 'bag'
    assert main(['kitti', str(copy / drive.name), '--out', str(out), '--quiet']) == 2
    assert '0000000002.png' in capsys.readouterr().err
    assert not out.exists()
    assert main(['kitti', str(drive), '--out', str(out), '--quiet', '--gnss-rate', '0']) == 2
    assert 'GNSS rate' in capsys.readouterr().err
