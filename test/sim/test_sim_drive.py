"""Drives stay in their lane, respect the speed profile and are consistent with their poses."""

from dataclasses import replace

import numpy as np
import pytest

from cvseq_localizer.sim.drive import DriveConfig, plan_drive
from cvseq_localizer.sim.layers import BUILDING, CAR, GRASS, TREE
from cvseq_localizer.sim.scenario import sample_stamps

DT_S = 0.1


@pytest.fixture(scope='module')
def drive(small_world):
    cfg = replace(DriveConfig(), stop_prob=0.5)
    plan = plan_drive(small_world.network, 90.0, cfg, np.random.default_rng(11))
    return cfg, plan.sample(sample_stamps(0, 90.0, 1 / DT_S), 0), plan


def test_speed_profile(drive):
    cfg, traj, _ = drive
    v = traj.speed_mps
    assert v[0] == 0.0 and v.min() >= 0.0
    assert v.max() <= cfg.cruise_mps[1] + 1e-9
    assert v.max() > cfg.cruise_mps[0] * 0.8  # it does get up to speed
    assert (v < 0.05).mean() > 0.02  # it stops now and then
    accel = np.diff(v) / DT_S
    assert accel.max() < cfg.accel_mps2 * 1.2 and accel.min() > -cfg.decel_mps2 * 1.2


def test_poses_are_consistent_with_the_motion(drive):
    _, traj, plan = drive
    dense = plan.sample(sample_stamps(0, 90.0, 1000.0), 0)  # 1 ms steps: speed ~ constant
    dist_dense = np.linalg.norm(np.diff(dense.xy_enu_m, axis=0), axis=1)
    mean_v_dense = 0.5 * (dense.speed_mps[1:] + dense.speed_mps[:-1])
    np.testing.assert_allclose(dist_dense, mean_v_dense * 1e-3, atol=2e-4)
    step = np.diff(traj.xy_enu_m, axis=0)
    dist = np.linalg.norm(step, axis=1)
    mean_v = 0.5 * (traj.speed_mps[1:] + traj.speed_mps[:-1])
    moving = dist > 0.3
    heading = np.arctan2(step[moving, 1], step[moving, 0])
    d_yaw = np.angle(np.exp(1j * (heading - traj.yaw_rad[1:][moving])))
    assert np.abs(d_yaw).max() < 0.15  # yaw follows the direction of travel (REP-103)
    yaw_rate = np.abs(np.angle(np.exp(1j * np.diff(traj.yaw_rad)))) / DT_S
    lateral = yaw_rate * mean_v
    assert np.percentile(lateral, 99) < DriveConfig().lat_accel_mps2 * 1.3


def test_the_vehicle_stays_on_the_road(small_world, drive):
    _, traj, _ = drive
    rows, cols = small_world.grid.enu_to_index(traj.xy_enu_m[:, 0], traj.xy_enu_m[:, 1])
    cls = small_world.layers.class_map[rows, cols]
    assert not np.isin(cls, [GRASS, BUILDING, TREE, CAR]).any()


def test_same_seed_same_drive(small_world):
    a = plan_drive(small_world.network, 30.0, DriveConfig(), np.random.default_rng(5))
    b = plan_drive(small_world.network, 30.0, DriveConfig(), np.random.default_rng(5))
    c = plan_drive(small_world.network, 30.0, DriveConfig(), np.random.default_rng(6))
    np.testing.assert_array_equal(a.path_enu_m, b.path_enu_m)
    np.testing.assert_array_equal(a.t_s, b.t_s)
    assert a.path_enu_m.shape != c.path_enu_m.shape or not np.allclose(a.path_enu_m, c.path_enu_m)
