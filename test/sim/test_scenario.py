"""Scenarios are deterministic from a seed and their frames match their poses."""

from dataclasses import replace

import numpy as np
import pytest
from sim_testkit import SMALL

from cvseq_localizer.sim.scenario import SimConfig, sample_stamps, simulate_drive

CONFIG = SimConfig(world=SMALL, duration_s=4.0)


@pytest.fixture(scope='module')
def scenario():
    return simulate_drive(CONFIG, np.random.default_rng(21))


def test_counts_and_stamps(scenario):
    assert len(scenario) == 40 and len(scenario.gnss_poses) == 40
    np.testing.assert_array_equal(
        scenario.camera_poses.stamp_ns, sample_stamps(CONFIG.start_ns, 4.0, 10)
    )
    assert np.all(np.diff(scenario.camera_poses.stamp_ns) == 100_000_000)
    stamps = [s for s, _ in scenario.frames()]
    assert stamps == scenario.camera_poses.stamp_ns.tolist()


def test_same_seed_same_scenario_different_seed_different(scenario):
    again = simulate_drive(CONFIG, np.random.default_rng(21))
    other = simulate_drive(CONFIG, np.random.default_rng(22))
    np.testing.assert_array_equal(scenario.camera_poses.xy_enu_m, again.camera_poses.xy_enu_m)
    np.testing.assert_array_equal(scenario.gnss.error_enu_m, again.gnss.error_enu_m)
    np.testing.assert_array_equal(scenario.render_frame(7), again.render_frame(7))
    np.testing.assert_array_equal(scenario.world.aerial_rgb, again.world.aerial_rgb)
    assert not np.array_equal(scenario.world.aerial_rgb, other.world.aerial_rgb)


def test_frames_can_be_rendered_in_any_order(scenario):
    late_first = scenario.render_frame(30)
    for _ in scenario.frames():
        pass
    np.testing.assert_array_equal(scenario.render_frame(30), late_first)


def test_rates_are_configurable():
    cfg = replace(CONFIG, camera_rate_hz=5.0, gnss_rate_hz=2.0, duration_s=3.0)
    sc = simulate_drive(cfg, np.random.default_rng(1))
    assert len(sc) == 15 and len(sc.gnss_poses) == 6
    assert sc.render_frame(0).shape == (cfg.camera.height_px, cfg.camera.width_px, 3)
