"""`cvseq-sim` writes a real rosbag2 (read back with rosbags and with mcap), tiles and a JSON."""

import json
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
from mcap.reader import make_reader

from cvseq_localizer.geo import CameraModel, tile_index
from cvseq_localizer.ros.conversions import image_msg_to_rgb, navsatfix_to_gnss
from cvseq_localizer.sim.camera import CAMERAS
from cvseq_localizer.sim.gnss_model import GnssErrorConfig
from cvseq_localizer.sim.scenario import SimConfig, simulate_drive
from cvseq_localizer.sim.world import WorldConfig
from cvseq_localizer.tiles.mbtiles import MBTilesSource
from cvseq_localizer.tools.bagio import read_messages
from cvseq_localizer.tools.sim_cli import TOPICS, main, write_scenario
from cvseq_localizer.types import STATUS_NO_FIX

# A tiny world, a 3 s drive and frequent dropouts so that NO_FIX messages occur.
CONFIG = SimConfig(
    world=WorldConfig(size_m=120.0),
    duration_s=3.0,
    gnss=replace(
        GnssErrorConfig(),
        dropout_rate_hz=1.0,
        dropout_duration_s=(0.3, 0.6),
        dropout_no_fix_prob=1.0,
    ),
)
SEED = 5


def _write(storage: str, tmp_path_factory):
    out = tmp_path_factory.mktemp(storage)
    path = write_scenario(out, CONFIG, SEED, storage=storage)
    return storage, out, json.loads(path.read_text())


@pytest.fixture(scope='module')
def mcap_run(tmp_path_factory):
    return _write('mcap', tmp_path_factory)


@pytest.fixture(scope='module')
def sqlite_run(tmp_path_factory):
    return _write('sqlite3', tmp_path_factory)


@pytest.fixture(params=['mcap_run', 'sqlite_run'])
def written(request):
    return request.getfixturevalue(request.param)


def _expected_counts():
    sc = simulate_drive(CONFIG, np.random.default_rng(SEED))
    n_truth = len(np.union1d(sc.camera_poses.stamp_ns, sc.gnss_poses.stamp_ns))
    counts = {TOPICS['image']: len(sc), TOPICS['gnss']: len(sc.gnss.fixes)}
    counts.update({TOPICS['gt_odometry']: n_truth, TOPICS['gt_fix']: n_truth})
    counts.update({TOPICS['camera_info']: len(sc), TOPICS['tf_static']: 1})
    counts[TOPICS['odom']] = len(sc.odometry.stamp_ns)
    return sc, counts


def test_bag_reads_back_with_rosbags(written):
    _, out, desc = written
    sc, expected = _expected_counts()
    msgs = list(read_messages(out / desc['bag'], TOPICS.values()))
    assert Counter(m.topic for m in msgs) == expected
    assert desc['message_counts'] == expected
    stamps = [m.stamp_ns for m in msgs]
    assert stamps == sorted(stamps)
    first_image = next(m for m in msgs if m.topic == TOPICS['image'])
    np.testing.assert_array_equal(image_msg_to_rgb(first_image.msg), sc.render_frame(0))
    fixes = [navsatfix_to_gnss(m.msg) for m in msgs if m.topic == TOPICS['gnss']]
    assert any(f.status == STATUS_NO_FIX for f in fixes) and any(f.is_usable() for f in fixes)
    odom = [m for m in msgs if m.topic == TOPICS['gt_odometry']]
    k = len(odom) // 2
    pos = odom[k].msg.pose.pose.position
    i = int(np.searchsorted(sc.camera_poses.stamp_ns, odom[k].stamp_ns))
    np.testing.assert_allclose([pos.x, pos.y], sc.camera_poses.xy_enu_m[i], atol=1e-9)
    assert odom[k].msg.header.frame_id == 'map' and odom[k].msg.child_frame_id == 'base_link'


def test_mcap_bag_reads_back_with_the_mcap_package(mcap_run):
    _, out, desc = mcap_run
    (path,) = (out / desc['bag']).glob('*.mcap')
    with open(path, 'rb') as f:
        counts = Counter()
        schemas = {}
        for schema, channel, _ in make_reader(f).iter_messages():
            counts[channel.topic] += 1
            schemas[channel.topic] = schema.name
    assert counts == desc['message_counts']
    assert schemas[TOPICS['image']] == 'sensor_msgs/msg/Image'
    assert schemas[TOPICS['gt_odometry']] == 'nav_msgs/msg/Odometry'


def test_tiles_and_description(written):
    _, out, desc = written
    assert desc['datum'] == {'lat_deg': 49.011, 'lon_deg': 8.417, 'alt_m': 115.0}
    assert desc['seed'] == SEED and desc['tile_zoom'] == 19
    assert desc['camera']['width_px'] == 320 and desc['camera']['fx'] == pytest.approx(160.0)
    with MBTilesSource(out / desc['tiles']) as source:
        lat, lon = desc['datum']['lat_deg'], desc['datum']['lon_deg']
        x, y, z = tile_index(lat, lon, desc['tile_zoom'])
        assert source.fetch(z, x, y).shape == (256, 256, 3)


def test_same_seed_same_bag(tmp_path):
    a = write_scenario(tmp_path / 'a', CONFIG, SEED)
    b = write_scenario(tmp_path / 'b', CONFIG, SEED)
    topics = [TOPICS['image'], TOPICS['gnss']]
    for ma, mb in zip(
        read_messages(a.parent / 'bag', topics), read_messages(b.parent / 'bag', topics)
    ):
        assert ma.stamp_ns == mb.stamp_ns and ma.topic == mb.topic
        if ma.topic == TOPICS['image']:
            assert bytes(ma.msg.data) == bytes(mb.msg.data)
        else:
            assert (ma.msg.latitude, ma.msg.longitude) == (mb.msg.latitude, mb.msg.longitude) or (
                np.isnan(ma.msg.latitude) and np.isnan(mb.msg.latitude)
            )


def test_command_line(tmp_path, capsys):
    out = tmp_path / 'run'
    rc = main(
        ['--out', str(out), '--seed', '2', '--duration', '1', '--world-size', '120', '--quiet']
    )
    assert rc == 0
    assert capsys.readouterr().out.strip() == str(out / 'scenario.json')
    desc = json.loads((out / 'scenario.json').read_text())
    assert desc['message_counts'][TOPICS['image']] == 10 and desc['storage'] == 'mcap'
    with pytest.raises(FileExistsError):
        main(['--out', str(out), '--duration', '1', '--world-size', '120', '--quiet'])


def test_camera_preset_goes_into_the_bag_and_the_description(tmp_path):
    out = tmp_path / 'tele'
    argv = ['--out', str(out), '--duration', '0.2', '--world-size', '120', '--quiet']
    assert main([*argv, '--camera', 'tele']) == 0
    desc = json.loads((out / 'scenario.json').read_text())
    cam = CameraModel.from_dict(desc['camera'])
    assert cam == CAMERAS['tele']
    topics = [TOPICS['image'], TOPICS['camera_info'], TOPICS['tf_static']]
    msgs = list(read_messages(out / desc['bag'], topics))
    images = [m for m in msgs if m.topic == TOPICS['image']]
    infos = [m for m in msgs if m.topic == TOPICS['camera_info']]
    assert [m.stamp_ns for m in infos] == [m.stamp_ns for m in images] and len(images) == 2
    info = infos[0].msg
    assert (info.width, info.height) == (512, 256) == (images[0].msg.width, images[0].msg.height)
    assert info.header.frame_id == images[0].msg.header.frame_id == 'camera_optical'
    assert info.distortion_model == 'plumb_bob'
    np.testing.assert_allclose(np.reshape(info.k, (3, 3)), cam.K)
    np.testing.assert_allclose(info.d, cam.D)
    (tf,) = [m.msg for m in msgs if m.topic == TOPICS['tf_static']]
    (t,) = tf.transforms
    assert (t.header.frame_id, t.child_frame_id) == ('base_link', 'camera_optical')
    v = t.transform.translation
    np.testing.assert_allclose([v.x, v.y, v.z], [0.8, 0.0, 2.0])


def test_camera_json_is_validated(tmp_path):
    bad = tmp_path / 'cam.json'
    bad.write_text(json.dumps({**CAMERAS['wide'].to_dict(), 'fx': -1.0}))
    with pytest.raises(SystemExit):
        main(['--out', str(tmp_path / 'x'), '--camera-json', str(bad), '--quiet'])


def test_odometry_latency_and_camera_lag_in_the_bag(tmp_path):
    cfg = replace(CONFIG, fix_latency_s=0.3, camera_lag_s=0.5)
    path = write_scenario(tmp_path / 'lag', cfg, SEED)
    desc = json.loads(path.read_text())
    assert desc['fix_latency_s'] == 0.3 and desc['camera_lag_s'] == 0.5
    sc = simulate_drive(cfg, np.random.default_rng(SEED))
    msgs = list(
        read_messages(tmp_path / 'lag' / 'bag', [TOPICS['image'], TOPICS['gnss'], TOPICS['odom']])
    )
    assert [m.stamp_ns for m in msgs] == sorted(m.stamp_ns for m in msgs)
    for m in msgs:
        header_ns = m.msg.header.stamp.sec * 10**9 + m.msg.header.stamp.nanosec
        lag = {TOPICS['image']: 0.5, TOPICS['gnss']: 0.3, TOPICS['odom']: 0.0}[m.topic]
        assert m.stamp_ns - header_ns == round(lag * 1e9)  # record time = arrival
    odom = [m.msg for m in msgs if m.topic == TOPICS['odom']]
    assert len(odom) == len(sc.odometry.stamp_ns)
    assert odom[50].twist.twist.linear.x == pytest.approx(sc.odometry.speed_mps[50])
    assert odom[50].twist.twist.angular.z == pytest.approx(sc.odometry.yaw_rate_radps[50])
    assert odom[50].twist.covariance[35] == pytest.approx(sc.odometry.yaw_rate_var_rad2ps2)


def test_command_line_gnss_profile_and_delays(tmp_path):
    out = tmp_path / 'urban'
    args = ['--out', str(out), '--seed', '2', '--duration', '1', '--world-size', '120',
            '--quiet', '--gnss-profile', 'urban', '--fix-latency-ms', '300',
            '--camera-lag-ms', '500']  # fmt: skip
    assert main(args) == 0
    desc = json.loads((out / 'scenario.json').read_text())
    assert desc['fix_latency_s'] == pytest.approx(0.3) and desc['camera_lag_s'] == 0.5
    assert desc['message_counts'][TOPICS['odom']] == 50
