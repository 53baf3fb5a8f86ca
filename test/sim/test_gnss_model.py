"""GNSS error statistics follow the configuration; dropouts and covariances work as documented."""

import math
from dataclasses import replace

import numpy as np
import pytest

from cvseq_localizer.geo import LocalFrame
from cvseq_localizer.sim.gnss_model import (
    GnssErrorConfig,
    error_stats,
    gnss_profile,
    horizontal_error_components,
    horizontal_errors,
    simulate_gnss,
)
from cvseq_localizer.types import COVARIANCE_TYPE_DIAGONAL_KNOWN, STATUS_NO_FIX

# Seed 004, Table III (raw GPS, mean of three Oxford RobotCar traversals).
OXFORD_MEAN_M, OXFORD_MEDIAN_M, OXFORD_P99_M = 4.60, 3.95, 20.20


def test_defaults_reproduce_the_oxford_robotcar_raw_gps_error():
    # 150 h at 1 Hz: ~9000 bias correlation times, so sampling noise is ~1 %.
    err, _ = horizontal_errors(150 * 3600, 1.0, GnssErrorConfig(), np.random.default_rng(0))
    stats = error_stats(err)
    assert stats['mean_m'] == pytest.approx(OXFORD_MEAN_M, rel=0.07)
    assert stats['median_m'] == pytest.approx(OXFORD_MEDIAN_M, rel=0.08)
    assert stats['p99_m'] == pytest.approx(OXFORD_P99_M, rel=0.12)


def test_without_multipath_the_error_is_rayleigh_with_the_configured_sigma():
    cfg = replace(GnssErrorConfig(), multipath_rate_hz=0.0, env_gain_range=(1.0, 1.0))
    err, multipath = horizontal_errors(100 * 3600, 1.0, cfg, np.random.default_rng(1))
    sigma = math.hypot(cfg.bias_sigma_m, cfg.white_sigma_m)
    stats = error_stats(err)
    assert not multipath.any()
    assert stats['mean_m'] == pytest.approx(sigma * math.sqrt(math.pi / 2), rel=0.04)
    assert stats['p99_m'] == pytest.approx(sigma * math.sqrt(2 * math.log(100)), rel=0.06)


def test_bias_is_gauss_markov_with_the_configured_time_constant():
    cfg = replace(
        GnssErrorConfig(), white_sigma_m=0.0, multipath_rate_hz=0.0, env_gain_range=(1.0, 1.0)
    )
    err, _ = horizontal_errors(200 * 3600, 1.0, cfg, np.random.default_rng(2))
    x = err[:, 0]
    lag = int(cfg.bias_tau_s)
    rho = np.corrcoef(x[:-lag], x[lag:])[0, 1]
    assert rho == pytest.approx(math.exp(-1.0), abs=0.05)
    assert np.corrcoef(x[:-1], x[1:])[0, 1] > 0.97  # slow drift, not white


def test_multipath_episodes_are_large_jumps():
    cfg = replace(GnssErrorConfig(), multipath_rate_hz=1 / 60)
    err, multipath = horizontal_errors(20 * 3600, 1.0, cfg, np.random.default_rng(3))
    norm = np.linalg.norm(err, axis=1)
    assert 0.04 < multipath.mean() < 0.08  # rate x mean duration = 3.5 / 60
    assert np.median(norm[multipath]) > 12.0 > np.median(norm[~multipath]) * 2


def _track(n: int):
    stamps = 1_000_000_000 + np.arange(n, dtype=np.int64) * 100_000_000  # 10 Hz
    xy = np.stack([np.linspace(0, 500, n), np.zeros(n)], axis=1)
    return stamps, xy


def test_dropouts_publish_no_fix_or_nothing_and_fixes_carry_the_error():
    frame = LocalFrame(49.011, 8.417, 115.0)
    cfg = replace(GnssErrorConfig(), dropout_rate_hz=1 / 20)
    stamps, xy = _track(6000)
    sim = simulate_gnss(stamps, xy, frame, cfg, np.random.default_rng(4))
    assert len(sim.fixes) == int(sim.published.sum()) < len(stamps)  # some epochs are silent
    no_fix = [f for f in sim.fixes if f.status == STATUS_NO_FIX]
    assert no_fix and all(not f.is_usable() for f in no_fix)
    assert (~sim.has_position).sum() > len(no_fix)
    usable = [f for f in sim.fixes if f.is_usable()]
    f = usable[len(usable) // 2]
    k = int(np.searchsorted(stamps, f.stamp_ns))
    e, n, _ = frame.to_enu(f.lat_deg, f.lon_deg, f.alt_m)
    np.testing.assert_allclose([e - xy[k, 0], n - xy[k, 1]], sim.error_enu_m[k], atol=1e-6)
    assert f.cov_type == COVARIANCE_TYPE_DIAGONAL_KNOWN


def test_reported_covariance_is_within_the_configured_misreport_range():
    cfg = GnssErrorConfig()
    stamps, xy = _track(3000)
    sim = simulate_gnss(stamps, xy, LocalFrame(49.0, 8.4), cfg, np.random.default_rng(5))
    sigma = np.array([math.sqrt(f.cov_enu_m2[0, 0]) for f in sim.fixes if f.is_usable()])
    core = math.hypot(cfg.bias_sigma_m, cfg.white_sigma_m)
    lo, hi = cfg.cov_scale_range
    assert sigma.min() >= core * lo - 1e-9 and sigma.max() <= core * hi + 1e-9
    assert sigma.max() / sigma.min() > 1.3  # it really varies over the run


def test_same_seed_same_errors():
    a, _ = horizontal_errors(500, 0.1, GnssErrorConfig(), np.random.default_rng(9))
    b, _ = horizontal_errors(500, 0.1, GnssErrorConfig(), np.random.default_rng(9))
    c, _ = horizontal_errors(500, 0.1, GnssErrorConfig(), np.random.default_rng(10))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(
    'name, mean_m, p99_m, bias_mean_m, bias_p99_m',
    [
        ('open', 1.97, 5.2, 1.84, 4.6),
        ('default', 4.62, 20.3, 4.01, 10.7),
        ('urban', 7.74, 33.7, 5.50, 14.9),
    ],
)
def test_profiles_have_their_documented_statistics(name, mean_m, p99_m, bias_mean_m, bias_p99_m):
    # 40 h at 1 Hz, another seed than the docstring's: sampling noise is a few percent
    c = horizontal_error_components(40 * 3600, 1.0, gnss_profile(name), np.random.default_rng(7))
    total = error_stats(c['bias'] + c['white'] + c['multipath'])
    bias = error_stats(c['bias'])
    assert total['mean_m'] == pytest.approx(mean_m, rel=0.1)
    assert total['p99_m'] == pytest.approx(p99_m, rel=0.15)
    assert bias['mean_m'] == pytest.approx(bias_mean_m, rel=0.1)
    assert bias['p99_m'] == pytest.approx(bias_p99_m, rel=0.15)


def test_profiles_order_and_unknown_name():
    means = [
        error_stats(horizontal_errors(36000, 1.0, gnss_profile(n), np.random.default_rng(1))[0])[
            'mean_m'
        ]
        for n in ('open', 'default', 'urban')
    ]
    assert means[0] < means[1] < means[2]
    cfg = gnss_profile('urban')
    assert cfg.dropout_duration_s[1] == 20.0
    with pytest.raises(ValueError, match='unknown GNSS profile'):
        gnss_profile('moon')


def test_simulation_exposes_error_components_that_sum_to_the_error():
    n = 3000
    stamps = np.arange(n, dtype=np.int64) * 100_000_000
    xy = np.zeros((n, 2))
    sim = simulate_gnss(stamps, xy, LocalFrame(50.0, 8.0), gnss_profile('urban'),
                        np.random.default_rng(3))  # fmt: skip
    parts = sim.bias_enu_m + sim.white_enu_m + sim.multipath_enu_m
    ok = sim.has_position
    assert np.allclose(parts[ok], sim.error_enu_m[ok])
    assert np.all(np.isnan(sim.error_enu_m[~ok]))
    assert np.all(sim.multipath_enu_m[~sim.multipath] == 0.0)
    assert np.all(np.hypot(*sim.multipath_enu_m[sim.multipath].T) >= 10.0 - 1e-9)
    # the bias is slow: its epoch-to-epoch change is far below the white part's
    assert np.std(np.diff(sim.bias_enu_m[:, 0])) < 0.3 * np.std(sim.white_enu_m[:, 0])
