"""cvseq-convert robotcar on a 5-frame fixture run in the real RobotCar + SDK layouts."""

import math

import numpy as np
import pytest
from convert_testkit import (
    ROBOTCAR_HW,
    SDK_INTRINSICS,
    messages_by_topic,
    replay_and_evaluate,
    write_robotcar_run,
    write_sdk,
    write_vo,
)

from cvseq_localizer.data.robotcar import ROBOTCAR_INS_HEIGHT_M, ned_to_enu, robotcar_camera
from cvseq_localizer.ros.conversions import (
    compressed_msg_to_rgb,
    image_msg_to_rgb,
    quaternion_to_yaw,
    stamp_to_ns,
)
from cvseq_localizer.tiles.prefill import read_route
from cvseq_localizer.tools.convert import main

N = 5
T0_US = 1_399_381_000_000_000


def convert(run, sdk, out, *extra) -> int:
    return main(['robotcar', str(run), '--sdk', str(sdk), '--out', str(out), '--quiet', *extra])


@pytest.fixture(scope='module')
def robotcar(tmp_path_factory):
    root = tmp_path_factory.mktemp('robotcar')
    run = write_robotcar_run(root, N, T0_US, yaw_ned=0.3)
    write_sdk(root / 'sdk')
    assert convert(run, root / 'sdk', root / 'bag') == 0
    return root, run, root / 'bag'


def test_message_counts_and_stamps(robotcar):
    _, _, bag = robotcar
    msgs = messages_by_topic(bag)
    cam_ns = [(T0_US + k * 62_500) * 1000 for k in range(N)]
    assert [stamp_to_ns(m.msg.header.stamp) for m in msgs['/camera/image_raw']] == cam_ns
    assert len(msgs['/camera/camera_info']) == N and len(msgs['/tf_static']) == 1
    # Rows within 1 s of the frames: gps at 5 Hz from t0 - 0.5 s, ins at 50 Hz.
    lo, hi = cam_ns[0] - 10**9, cam_ns[-1] + 10**9
    gps_ns = [(T0_US - 500_000 + 200_000 * k) * 1000 for k in range(100)]
    ins_ns = [(T0_US - 500_000 + 20_000 * k) * 1000 for k in range(1000)]
    end = (T0_US + (N - 1) * 62_500 + 1_000_000) * 1000
    gps_ns = [s for s in gps_ns if lo <= s <= hi and s < end]
    ins_ns = [s for s in ins_ns if lo <= s <= hi and s < end]
    assert [m.stamp_ns for m in msgs['/gnss/fix']] == gps_ns
    assert [m.stamp_ns for m in msgs['/ground_truth/fix']] == ins_ns
    assert len(msgs['/ground_truth/odometry']) == len(ins_ns)


def test_bayer_gbrg_becomes_rgb_with_red_left_and_blue_right(robotcar):
    _, _, bag = robotcar
    images = messages_by_topic(bag)['/camera/image_raw']
    for k, m in enumerate(images):
        rgb = image_msg_to_rgb(m.msg)
        assert rgb.shape == (*ROBOTCAR_HW, 3)
        np.testing.assert_array_equal(rgb[24, 10], [200, 10 * k, 0])  # red half
        np.testing.assert_array_equal(rgb[24, 50], [0, 10 * k, 200])  # blue half


def test_undistortion_table_is_applied(tmp_path):
    run = write_robotcar_run(tmp_path, 2, T0_US)
    write_sdk(tmp_path / 'sdk', lut_shift_px=4.0)  # undistorted x samples distorted x + 4
    assert convert(run, tmp_path / 'sdk', tmp_path / 'bag') == 0
    rgb = image_msg_to_rgb(messages_by_topic(tmp_path / 'bag')['/camera/image_raw'][0].msg)
    assert rgb[24, 30, 2] == 200 and rgb[24, 30, 0] == 0  # input column 34: blue
    assert rgb[24, 26, 0] == 200  # input column 30: still red


def test_mount_and_ground_projection_against_hand_computed_lever_arms(tmp_path):
    _, ext = write_sdk(tmp_path, ins_extrinsics='-1.7132 0.1181 1.1948 0 0 0')
    h, w = ROBOTCAR_HW
    cam = robotcar_camera(tmp_path / 'models', ext, w, h, ins_height_m=0.4)
    # INS is 1.7132 m behind, 0.1181 m right of and 1.1948 m below the camera (x fwd, y right,
    # z down) -> the camera is 1.7132 m ahead, 0.1181 m left, 1.1948 + 0.4 m above base_link.
    np.testing.assert_allclose(cam.mount.t_body_m, [1.7132, 0.1181, 1.5948], atol=1e-12)
    assert (cam.mount.roll_rad, cam.mount.pitch_rad, cam.mount.yaw_rad) == pytest.approx((0, 0, 0))
    fx, fy, cx, cy = (v / 20 for v in SDK_INTRINSICS)
    depth = 10.0 - 1.7132
    expected = [fx * 0.1181 / depth + cx, fy * 1.5948 / depth + cy]
    uv, inside = cam.ground_to_pixel([[10.0, 0.0]])
    assert inside[0]
    np.testing.assert_allclose(uv[0], expected, atol=1e-9)


def test_sdk_extrinsics_give_a_camera_near_the_roof(tmp_path):
    _, ext = write_sdk(tmp_path)  # the SDK's ins.txt (small rotation)
    cam = robotcar_camera(tmp_path / 'models', ext, 64, 48)
    assert cam.mount.z_m == pytest.approx(1.1948 + ROBOTCAR_INS_HEIGHT_M, abs=0.1)
    assert cam.mount.x_m == pytest.approx(1.7132, abs=0.1)
    assert abs(cam.mount.pitch_rad) < 0.1 and abs(cam.mount.roll_rad) < 0.1


def test_ned_to_enu_yaw_velocity_and_gnss_sigmas(robotcar):
    _, _, bag = robotcar
    np.testing.assert_allclose(ned_to_enu(3.0, 4.0, 0.5), [4.0, 3.0, -0.5])
    msgs = messages_by_topic(bag)
    odom = msgs['/ground_truth/odometry'][0].msg
    assert quaternion_to_yaw(odom.pose.pose.orientation) == pytest.approx(math.pi / 2 - 0.3)
    assert odom.twist.twist.linear.x == pytest.approx(5.0)
    fix = msgs['/gnss/fix'][0].msg
    # gps.csv: latitude_sigma 1.5, longitude_sigma 2.0, altitude_sigma 3.0 (ENU order).
    np.testing.assert_allclose(np.diag(fix.position_covariance.reshape(3, 3)), [4.0, 2.25, 9.0])
    # The track heads 0.3 rad east of north: ENU displacement (sin 0.3, cos 0.3).
    gt = msgs['/ground_truth/odometry']
    a, b = gt[0].msg.pose.pose.position, gt[-1].msg.pose.pose.position
    assert math.atan2(b.x - a.x, b.y - a.y) == pytest.approx(0.3, abs=1e-3)


@pytest.mark.parametrize(
    'victim, needle',
    [
        ('run/gps/ins.csv', 'ins.csv'),
        ('run/gps/gps.csv', 'gps.csv'),
        ('run/stereo.timestamps', 'stereo.timestamps'),
        ('sdk/models/stereo_narrow_left_distortion_lut.bin', 'distortion_lut.bin'),
        ('sdk/extrinsics/ins.txt', 'ins.txt'),
    ],
)
def test_missing_file_is_named(tmp_path, capsys, victim, needle):
    run = write_robotcar_run(tmp_path, 2, T0_US)
    write_sdk(tmp_path / 'sdk')
    (tmp_path / victim.replace('run', run.name, 1)).unlink()
    assert convert(run, tmp_path / 'sdk', tmp_path / 'bag') == 2
    err = capsys.readouterr().err
    assert needle in err and 'error' in err


def test_malformed_inputs_are_named(tmp_path, capsys):
    run = write_robotcar_run(tmp_path, 2, T0_US)
    write_sdk(tmp_path / 'sdk')
    ins = run / 'gps' / 'ins.csv'
    ins.write_text(ins.read_text().replace('velocity_east', 'v_east', 1))
    assert convert(run, tmp_path / 'sdk', tmp_path / 'bag') == 2
    assert 'ins.csv' in (err := capsys.readouterr().err) and 'velocity_east' in err
    ins.write_text(ins.read_text().replace('v_east', 'velocity_east', 1))
    lut = tmp_path / 'sdk' / 'models' / 'stereo_narrow_left_distortion_lut.bin'
    lut.write_bytes(lut.read_bytes()[:-8])
    assert convert(run, tmp_path / 'sdk', tmp_path / 'bag') == 2
    assert 'distortion_lut.bin' in capsys.readouterr().err


def test_converted_bag_replays_and_evaluates(robotcar, tmp_path):
    _, _, bag = robotcar
    assert replay_and_evaluate(bag, tmp_path) == (0, 0)
    assert 'raw GNSS' in (tmp_path / 'eval' / 'report.md').read_text()


def test_compressed_images_decode_to_the_same_pixels_and_replay(robotcar, tmp_path):
    root, run, bag = robotcar
    out = tmp_path / 'png'
    assert convert(run, root / 'sdk', out, '--compress', 'png') == 0
    msgs = messages_by_topic(out)
    assert '/camera/image_raw' not in msgs
    packed = msgs['/camera/image_raw/compressed']
    assert packed[0].msgtype == 'sensor_msgs/msg/CompressedImage'
    raw = messages_by_topic(bag)['/camera/image_raw']
    assert [m.stamp_ns for m in packed] == [m.stamp_ns for m in raw]
    for a, b in zip(packed, raw):
        np.testing.assert_array_equal(compressed_msg_to_rgb(a.msg), image_msg_to_rgb(b.msg))
    assert replay_and_evaluate(out, tmp_path, '/camera/image_raw/compressed') == (0, 0)
    rows = (tmp_path / 'replay' / 'poses.csv').read_text().splitlines()
    assert len(rows) == 1 + N  # a pose per frame


def test_gps_csv_works_as_a_prefill_route(robotcar):
    _, run, _ = robotcar
    route = read_route(run / 'gps' / 'gps.csv')
    assert route.shape == (len((run / 'gps' / 'gps.csv').read_text().splitlines()) - 1, 2)


def test_odom_from_visual_odometry(tmp_path, capsys):
    run = write_robotcar_run(tmp_path, 4, T0_US)
    write_sdk(tmp_path / 'sdk')
    assert convert(run, tmp_path / 'sdk', tmp_path / 'no_vo', '--odom') == 2
    assert 'vo.csv' in capsys.readouterr().err
    write_vo(run, 4, T0_US)  # each 62.5 ms: 0.3125 m forward, 0.01 m right, 0.00625 rad right
    assert convert(run, tmp_path / 'sdk', tmp_path / 'bag', '--odom') == 0
    odom = messages_by_topic(tmp_path / 'bag')['/odom']
    assert [m.stamp_ns for m in odom] == [(T0_US + k * 62_500) * 1000 for k in range(1, 4)]
    tw = odom[0].msg.twist.twist
    assert (tw.linear.x, tw.linear.y, tw.angular.z) == pytest.approx((5.0, 0.16, 0.1))
