"""cvseq-convert kitti: the GNSS profile (--gnss-profile) and the odometry noise (--odom-noise)."""

import json

import numpy as np
import pytest
from convert_testkit import messages_by_topic, straight_drive, write_kitti_raw

from cvseq_localizer.geo import LocalFrame
from cvseq_localizer.sim.odometry import OdometryConfig
from cvseq_localizer.tools.convert import main
from cvseq_localizer.tools.convert_msgs import ODOM_SPEED_VAR, ODOM_YAW_RATE_VAR, integrate_planar

OXTS_VF, OXTS_VL, OXTS_WU = 5.0, 0.1, 0.01  # the fixture's OXTS body velocities


@pytest.fixture(scope='module')
def long_drive(tmp_path_factory):
    """A 4 s (40 frame) drive: 40 reference epochs for the GNSS model, 4 frames kept."""
    return write_kitti_raw(tmp_path_factory.mktemp('kitti_long'), straight_drive(40, 1.0))


def _convert(drive, out, *flags) -> dict[str, list]:
    assert main(['kitti', str(drive), '--out', str(out), '--quiet', '--stride', '13', *flags]) == 0
    return messages_by_topic(out)


def _fix_errors_m(msgs) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal /gnss/fix error vs /ground_truth/fix at the same stamp (m), and the reported
    east variances of those fixes."""
    truth = {m.stamp_ns: m.msg for m in msgs['/ground_truth/fix']}
    first = msgs['/ground_truth/fix'][0].msg
    frame = LocalFrame(first.latitude, first.longitude)
    errors, variances = [], []
    for m in msgs['/gnss/fix']:
        if not np.isfinite(m.msg.latitude):
            continue  # a NO_FIX dropout
        ref = truth[m.stamp_ns]  # the simulated clock runs on the reference's 10 Hz epochs
        e, n, _ = frame.to_enu(np.array([m.msg.latitude, ref.latitude]),
                               np.array([m.msg.longitude, ref.longitude]))  # fmt: skip
        errors.append(np.hypot(e[0] - e[1], n[0] - n[1]))
        variances.append(m.msg.position_covariance[0])
    return np.array(errors), np.array(variances)


def test_gnss_profile_sets_the_error_statistics(long_drive, tmp_path):
    for seed in range(3):
        mean, var = {}, {}
        for profile in ('open', 'default', 'urban'):
            out = tmp_path / f'{profile}_{seed}'
            msgs = _convert(long_drive, out, '--gnss-profile', profile, '--gnss-seed', str(seed))
            errors, variances = _fix_errors_m(msgs)
            assert len(errors) >= 20
            mean[profile], var[profile] = errors.mean(), np.median(variances)
            meta = json.loads((out / 'convert.json').read_text())
            assert f'{profile} profile' in meta['gnss']
        # Same seed, same random draws: the error grows with the profile's sigmas.
        assert mean['open'] < mean['default'] < mean['urban'], (seed, mean)
        assert mean['urban'] > 1.5 * mean['open']
        assert var['open'] < var['default'] < var['urban'], (seed, var)


def test_default_profile_is_the_default_and_unknown_is_refused(long_drive, tmp_path, capsys):
    plain = _convert(long_drive, tmp_path / 'plain')
    named = _convert(long_drive, tmp_path / 'named', '--gnss-profile', 'default')
    as_fix = [(m.stamp_ns, m.msg.latitude, m.msg.longitude) for m in plain['/gnss/fix']]
    assert as_fix == [(m.stamp_ns, m.msg.latitude, m.msg.longitude) for m in named['/gnss/fix']]
    with pytest.raises(SystemExit) as exc:
        main(['kitti', str(long_drive), '--out', str(tmp_path / 'x'), '--gnss-profile', 'moon'])
    assert exc.value.code == 2 and 'moon' in capsys.readouterr().err


def _twists(msgs) -> np.ndarray:
    tw = [m.msg.twist.twist for m in msgs['/odom']]
    return np.array([[t.linear.x, t.linear.y, t.angular.z] for t in tw])


def test_odom_noise_free_is_the_oxts_velocities(long_drive, tmp_path):
    msgs = _convert(long_drive, tmp_path / 'clean', '--odom')
    assert len(msgs['/odom']) == 40
    np.testing.assert_array_equal(_twists(msgs), [[OXTS_VF, OXTS_VL, OXTS_WU]] * 40)
    cov = np.asarray(msgs['/odom'][0].msg.twist.covariance)
    assert (cov[0], cov[7], cov[35]) == (ODOM_SPEED_VAR, ODOM_SPEED_VAR, ODOM_YAW_RATE_VAR)


def test_odom_noise_follows_the_odometry_model(long_drive, tmp_path):
    cfg = OdometryConfig()
    msgs = _convert(long_drive, tmp_path / 'noisy', '--odom-noise', '--odom-seed', '4')  # implies
    again = _convert(long_drive, tmp_path / 'again', '--odom-noise', '--odom-seed', '4')
    other = _convert(long_drive, tmp_path / 'other', '--odom-noise', '--odom-seed', '5')
    tw = _twists(msgs)
    assert tw.shape == (40, 3)
    np.testing.assert_array_equal(tw, _twists(again))  # seeded
    assert not np.array_equal(tw, _twists(other))
    clean = np.array([OXTS_VF, OXTS_VL, OXTS_WU])
    assert np.all(tw[:, 1:] != clean[1:])  # every lateral speed and yaw rate is perturbed
    assert np.mean(tw[:, 0] != OXTS_VF) > 0.5  # (a quantised speed may land on 5.00)
    # Bounds of the model (5 sigma): speed scale 1 % + white 0.05 m/s; gyro bias 0.1 deg/s
    # + white 0.005 rad/s (the 4 s random walk is far smaller).
    speed_bound = 5 * (cfg.speed_scale_sigma * OXTS_VF + cfg.speed_noise_mps)
    assert np.all(np.abs(tw[:, 0] - OXTS_VF) < speed_bound)
    assert np.all(np.abs(tw[:, 1] - OXTS_VL) < 5 * cfg.speed_noise_mps + 0.01)
    rate_bound = 5 * (cfg.gyro_bias_sigma_radps + cfg.yaw_rate_noise_radps)
    assert np.all(np.abs(tw[:, 2] - OXTS_WU) < rate_bound)
    q = tw[:, 0] / cfg.speed_quantum_mps
    np.testing.assert_allclose(q, np.round(q), atol=1e-6)  # quantised like a wheel-speed sensor
    cov = np.asarray(msgs['/odom'][0].msg.twist.covariance)
    assert cov[0] == pytest.approx(cfg.speed_noise_mps**2)
    assert cov[35] == pytest.approx(cfg.yaw_rate_noise_radps**2)
    # The /odom pose is dead-reckoned from the noisy twist, not from the OXTS one.
    from cvseq_localizer.tools.convert_msgs import OdomSamples

    stamps = np.array([m.stamp_ns for m in msgs['/odom']], np.int64)
    xy, _ = integrate_planar(OdomSamples(stamps, tw[:, 0], tw[:, 1], tw[:, 2]))
    got = np.array([[m.msg.pose.pose.position.x, m.msg.pose.pose.position.y]
                    for m in msgs['/odom']])  # fmt: skip
    np.testing.assert_allclose(got, xy, atol=1e-9)
    clean_xy, _ = integrate_planar(OdomSamples(stamps, *(np.full(40, v) for v in clean)))
    assert np.linalg.norm(got[-1] - clean_xy[-1]) > 1e-3
    meta = json.loads((tmp_path / 'noisy' / 'convert.json').read_text())
    assert 'sim.odometry' in meta['odom'] and 'seed 4' in meta['odom']
