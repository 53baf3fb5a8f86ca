"""Simulated odometry: truth-derived speed and yaw rate with the documented errors, seeded."""

import numpy as np
import pytest

from cvseq_localizer.sim.drive import DriveConfig, plan_drive
from cvseq_localizer.sim.odometry import OdometryConfig, simulate_odometry, true_motion
from cvseq_localizer.sim.roads import RoadConfig, build_road_network

NS = 1_000_000_000


@pytest.fixture(scope='module')
def plan():
    rng = np.random.default_rng(0)
    net = build_road_network(600.0, RoadConfig(), rng)
    return plan_drive(net, 120.0, DriveConfig(), rng)


def test_true_yaw_rate_integrates_to_the_heading_change(plan):
    stamps = NS + np.arange(0, 100 * NS, 10_000_000, dtype=np.int64)
    _, rate = true_motion(plan, stamps, NS)
    poses = plan.sample(stamps, NS)
    dyaw = np.unwrap(poses.yaw_rad)[-1] - np.unwrap(poses.yaw_rad)[0]
    assert np.sum(rate[:-1]) * 0.01 == pytest.approx(dyaw, abs=0.05)


def test_errors_follow_the_configuration(plan):
    cfg = OdometryConfig()
    scales, biases = [], []
    for seed in range(40):
        odo = simulate_odometry(plan, NS, 60.0, cfg, np.random.default_rng(seed))
        assert odo.stamp_ns.shape == (3000,) and np.all(np.diff(odo.stamp_ns) == 20_000_000)
        moving = odo.true_speed_mps > 2.0
        scales.append(np.median(odo.speed_mps[moving] / odo.true_speed_mps[moving]))
        biases.append(np.mean(odo.yaw_rate_radps - odo.true_yaw_rate_radps))
        resid = odo.speed_mps - odo.speed_scale * odo.true_speed_mps
        assert np.std(resid) == pytest.approx(cfg.speed_noise_mps, rel=0.15)
        w_resid = odo.yaw_rate_radps - odo.true_yaw_rate_radps - odo.gyro_bias_radps
        assert np.std(w_resid) == pytest.approx(cfg.yaw_rate_noise_radps, rel=0.15)
    assert np.std(scales) == pytest.approx(cfg.speed_scale_sigma, rel=0.35)
    assert np.std(biases) == pytest.approx(cfg.gyro_bias_sigma_radps, rel=0.35)
    assert odo.speed_var_m2ps2 == cfg.speed_noise_mps**2


def test_same_seed_same_odometry(plan):
    a = simulate_odometry(plan, NS, 10.0, OdometryConfig(), np.random.default_rng(5))
    b = simulate_odometry(plan, NS, 10.0, OdometryConfig(), np.random.default_rng(5))
    c = simulate_odometry(plan, NS, 10.0, OdometryConfig(), np.random.default_rng(6))
    assert np.array_equal(a.speed_mps, b.speed_mps) and np.array_equal(
        a.yaw_rate_radps, b.yaw_rate_radps
    )
    assert not np.array_equal(a.yaw_rate_radps, c.yaw_rate_radps)
