"""Unit behaviour of the measurement models, resampling, motion and summary statistics."""

import logging

import numpy as np
import pytest
from filter_synth import make_grid

from cvseq_localizer.filter import FilterConfig
from cvseq_localizer.filter.gnss import ACCEPT, REJECT, GnssGate, sanitize_cov
from cvseq_localizer.filter.grid import (
    grid_log_likelihood,
    mixture_density,
    raster_mixture_density,
    top_mass_indices,
    validate_grid,
)
from cvseq_localizer.filter.motion import motion_steps, propagate
from cvseq_localizer.filter.particles import Particles, initial_particles
from cvseq_localizer.filter.resampling import systematic_resample
from cvseq_localizer.filter.summary import YAW_VAR_UNIFORM_RAD2, summarize
from cvseq_localizer.filter.tile import inside_tile

CFG = FilterConfig()


def _particles(xy: np.ndarray, yaw: np.ndarray | None = None) -> Particles:
    m = xy.shape[0]
    yaw = np.zeros(m) if yaw is None else yaw
    return Particles(xy.astype(float), np.full(m, 5.0), yaw, np.zeros(m), np.full(m, -np.log(m)))


# ------------------------------------------------------------------------------------ GNSS
def test_sanitize_cov_fallbacks_and_clamps():
    fallback = np.eye(2) * CFG.gnss_fallback_sigma_m**2
    assert np.allclose(sanitize_cov(None, CFG), fallback)
    assert np.allclose(sanitize_cov(np.full((2, 2), np.nan), CFG), fallback)
    assert np.allclose(sanitize_cov(-np.eye(2), CFG), fallback)
    zero_north = sanitize_cov(np.diag([4.0, 0.0]), CFG)
    assert np.allclose(zero_north, np.diag([4.0, CFG.gnss_min_sigma_m**2]))
    skew = sanitize_cov(np.array([[4.0, 1.0], [0.0, 4.0]]), CFG)
    assert np.allclose(skew, skew.T) and np.allclose(skew[0, 1], 0.5)


def test_gate_rejects_jump_and_scales_with_time_and_speed():
    gate = GnssGate()
    assert gate.check(0, np.zeros(2), 1.0, 10.0, CFG) == ACCEPT
    # radius = 3 * hypot(1, 1) + (10 + 3) * 0.1 = 5.54 m
    assert gate.check(100_000_000, np.array([6.0, 0.0]), 1.0, 10.0, CFG) == REJECT
    assert gate.check(100_000_000, np.array([5.0, 0.0]), 1.0, 10.0, CFG) == ACCEPT
    # after 2 s at 10 m/s a 30 m move is plausible
    assert gate.check(2_100_000_000, np.array([30.0, 0.0]), 1.0, 10.0, CFG) == ACCEPT


# ------------------------------------------------------------------------------------ grid
def _tile(center=(0.0, 0.0), peak=(3.0, -2.0), sigma=1.0):
    return make_grid(np.array(center), np.array(peak), np.random.default_rng(0), 32, 2.28, sigma)


def test_inside_tile_matches_rotated_square():
    ang = 0.3
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    g = np.stack(np.meshgrid(np.arange(10.0), np.arange(10.0)), -1).reshape(-1, 2) + 0.5
    pts = g @ rot.T  # 10 x 10 cells of 1 m, rotated
    query = np.random.default_rng(0).uniform(-5, 15, (2000, 2))
    local = query @ rot  # back into the square's frame
    # hull of the cell centres [0.5, 9.5]^2 grown by half a cell = the square [0, 10]^2
    inside = np.all((local >= 0.01) & (local <= 9.99), axis=1)
    outside = np.any((local < -0.01) | (local > 10.01), axis=1)
    got = inside_tile(query, pts, 0.5)
    assert inside.sum() > 300 and outside.sum() > 300
    assert np.all(got[inside])
    assert not np.any(got[outside])


def test_outside_particles_get_exactly_the_floor_and_inside_peak_wins():
    pts, p = _tile()
    xy = np.array([[3.0, -2.0], [4.5, -1.0], [200.0, 0.0], [0.0, -50.0]])
    lik = grid_log_likelihood(xy, pts, p, 2.28, CFG)
    floor = np.log(CFG.grid_floor_weight / (1024 * 2.28**2)) / CFG.grid_temperature
    assert lik.log_lik[2] == pytest.approx(floor) and lik.log_lik[3] == pytest.approx(floor)
    assert lik.log_lik[0] > lik.log_lik[1] > floor
    assert not lik.at_floor
    far = grid_log_likelihood(xy[2:], pts, p, 2.28, CFG)
    assert far.at_floor


def test_truncated_mixture_matches_full_mixture():
    pts, p = _tile(sigma=4.0)  # broad belief: many cells matter
    xy = np.random.default_rng(1).uniform(-20, 20, (500, 2))
    sigma = CFG.grid_sigma_cells * 2.28
    full = mixture_density(xy, pts, p / p.sum(), sigma)
    floor = CFG.grid_floor_weight / (1024 * 2.28**2)
    expect = np.log(floor + (1 - CFG.grid_floor_weight) * full) / CFG.grid_temperature
    # all cells: only the raster interpolation (~3% of a peak) and the 5-sigma cut-off differ
    got = grid_log_likelihood(xy, pts, p, 2.28, FilterConfig(grid_top_mass=1.0)).log_lik
    assert np.max(np.abs(got - expect)) < 0.02
    # default top-99% truncation: the dropped tail mass is bounded by the floor
    got = grid_log_likelihood(xy, pts, p, 2.28, CFG).log_lik
    assert np.max(np.abs(got - expect)) < 0.3
    assert np.all(got <= expect + 0.02)


def test_top_mass_indices_cover_the_mass():
    p = np.array([0.05, 0.5, 0.3, 0.1, 0.05])
    assert list(top_mass_indices(p, 0.8)) == [1, 2]
    assert list(top_mass_indices(p, 0.85)) == [1, 2, 3]
    assert len(top_mass_indices(p, 1.0)) == 5


def test_flat_grid_is_uninformative_near_the_particles():
    g = (np.stack(np.meshgrid(np.arange(32.0), np.arange(32.0)), -1).reshape(-1, 2) - 15.5) * 2.28
    pts = g + np.random.default_rng(1).uniform(-0.1, 0.1, g.shape)  # cell centres, jittered
    flat = np.full(1024, 1.0 / 1024)
    xy = np.random.default_rng(2).uniform(-20, 20, (2000, 2))  # a wide cloud, 400+ cells
    lik = grid_log_likelihood(xy, pts, flat, 2.28, CFG)
    assert np.ptp(lik.log_lik) < 0.1
    assert lik.log_lik.min() > np.log(CFG.grid_floor_weight / (1024 * 2.28**2)) + 0.5


def test_raster_density_matches_exact_mixture():
    rng = np.random.default_rng(3)
    means = rng.uniform(-10, 10, (50, 2))
    w = rng.dirichlet(np.ones(50))
    xy = rng.uniform(-15, 15, (3000, 2))
    exact = mixture_density(xy, means, w, 1.2)
    got = raster_mixture_density(xy, means, w, 1.2, 0.6)
    assert np.max(np.abs(got - exact)) < 0.06 * exact.max()
    assert np.all(raster_mixture_density(xy + 100.0, means, w, 1.2, 0.6) == 0.0)


@pytest.mark.parametrize(
    'probs, reason',
    [(np.zeros(4), 'zero'), (np.array([0.1, np.nan, 0.2, 0.3]), 'non-finite')],
)
def test_validate_grid_names_the_problem(probs, reason):
    assert reason in validate_grid(np.zeros((4, 2)), probs, 2.0)


def test_validate_grid_accepts_good_input_and_rejects_shapes():
    assert validate_grid(np.zeros((4, 2)), np.ones(4), 2.0) == ''
    assert 'shape' in validate_grid(np.zeros((4, 3)), np.ones(4), 2.0)
    assert 'match' in validate_grid(np.zeros((4, 2)), np.ones(5), 2.0)
    assert 'cell size' in validate_grid(np.zeros((4, 2)), np.ones(4), 0.0)


# ------------------------------------------------------------------------------ resampling
def test_systematic_resample_is_proportional():
    w = np.array([0.5, 0.25, 0.125, 0.125, 0.0])
    idx = systematic_resample(w, np.random.default_rng(0))
    counts = np.bincount(idx, minlength=5)
    assert np.all(np.abs(counts - w * 5) <= 1) and counts[4] == 0
    w = np.random.default_rng(1).dirichlet(np.ones(1000))
    counts = np.bincount(systematic_resample(w, np.random.default_rng(2)), minlength=1000)
    assert np.all(np.abs(counts - w * 1000) < 1.0 + 1e-9)


# ---------------------------------------------------------------------------------- motion
def test_motion_moves_along_yaw_and_handles_zero_and_negative_dt():
    cfg = FilterConfig(accel_noise_mps2=0, yaw_rate_noise_radps=0, yaw_accel_noise_radps2=0)
    cfg = FilterConfig(**{**cfg.__dict__, 'position_noise_mps': 0.0})
    p = _particles(np.zeros((3, 2)), np.array([0.0, np.pi / 2, -np.pi]))
    propagate(p, 2.0, cfg, np.random.default_rng(0))
    assert np.allclose(p.xy_enu_m, [[10.0, 0.0], [0.0, 10.0], [-10.0, 0.0]], atol=1e-9)
    before = p.xy_enu_m.copy()
    propagate(p, 0.0, cfg, np.random.default_rng(0))
    propagate(p, -1.0, cfg, np.random.default_rng(0))
    assert np.array_equal(p.xy_enu_m, before)


def test_long_gap_is_capped_and_spread_bounded():
    assert sum(motion_steps(3600.0, CFG)) == pytest.approx(CFG.max_gap_s)
    assert len(motion_steps(1.2, CFG)) == 3
    rng = np.random.default_rng(0)
    p = initial_particles(np.zeros(2), np.eye(2), 2000, 15.0, 0.1, rng)
    propagate(p, 3600.0, CFG, rng)
    assert np.all(np.isfinite(p.xy_enu_m))
    assert np.max(np.abs(p.xy_enu_m)) <= CFG.max_speed_mps * CFG.max_gap_s + 20.0
    assert np.all((p.speed_mps >= 0) & (p.speed_mps <= CFG.max_speed_mps))
    assert np.all(np.abs(p.yaw_rate_radps) <= CFG.max_yaw_rate_radps)


# --------------------------------------------------------------------------------- summary
def test_circular_yaw_mean_across_pi():
    yaw = np.array([np.pi - 0.05, -np.pi + 0.05, np.pi - 0.02, -np.pi + 0.02])
    s = summarize(_particles(np.zeros((4, 2)), yaw))
    assert abs(abs(s.yaw_rad) - np.pi) < 1e-9
    assert s.yaw_var_rad2 < 0.01


def test_uniform_yaw_has_capped_variance_and_weighted_mean():
    yaw = np.linspace(-np.pi, np.pi, 400, endpoint=False)
    assert summarize(_particles(np.zeros((400, 2)), yaw)).yaw_var_rad2 == pytest.approx(
        YAW_VAR_UNIFORM_RAD2
    )
    xy = np.zeros((400, 2))
    xy[:200, 0] = 10.0
    p = _particles(xy)
    p.log_w = np.log(np.r_[np.full(200, 3.0), np.full(200, 1.0)] / 800.0)
    s = summarize(p)
    assert s.xy_enu_m == pytest.approx([7.5, 0.0])
    assert s.cov_xy_m2[0, 0] == pytest.approx(0.75 * 0.25 * 100.0)
    assert s.ess == pytest.approx(1.0 / (200 * (3 / 800) ** 2 + 200 * (1 / 800) ** 2))


def test_config_rejects_nonsense():
    with pytest.raises(ValueError):
        FilterConfig(num_particles=0)
    with pytest.raises(ValueError):
        FilterConfig(grid_floor_weight=1.0)
    with pytest.raises(ValueError):
        FilterConfig(accel_noise_mps2=float('nan'))


def test_warnings_are_rate_limited(caplog):
    from cvseq_localizer.filter.stats import WarnThrottle

    throttle = WarnThrottle(logging.getLogger('t'), period_s=60.0)
    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            throttle.warn('k', 'bad input %d', 1)
        throttle.warn('other', 'other input')
    assert len(caplog.records) == 2
