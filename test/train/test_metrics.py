import numpy as np
import pytest

from cvseq_localizer.train.metrics import (
    error_stats,
    heading_errors_rad,
    sequence_stats,
    sequence_windows,
)


def test_error_stats_against_numpy():
    rng = np.random.default_rng(0)
    err = rng.gamma(2.0, 2.0, 1000)
    stats = error_stats(np.append(err, np.nan))
    assert stats['n'] == 1000
    assert stats['mean_m'] == pytest.approx(err.mean())
    assert stats['p99_m'] == pytest.approx(np.quantile(err, 0.99))
    assert np.isnan(error_stats(np.array([np.nan]))['mean_m'])


def test_windows_follow_the_paper_split():
    d = np.arange(0, 201, 8.0)  # a frame every 8 m
    windows = sequence_windows(d, 50.0)
    first = windows[0]
    assert d[first[-1]] - d[first[0]] <= 50.0 < d[first[-1] + 1] - d[first[0]]
    # The next window starts at the first frame at or past the midpoint (25 m -> 32 m).
    assert d[windows[1][0]] == 32.0
    assert windows[-1][-1] == len(d) - 1


def test_sequence_stats_mean_of_window_means():
    d = np.arange(0, 100, 10.0)
    err = np.where(d < 50, 1.0, 3.0)
    stats = sequence_stats(err, d, window_m=40.0)
    windows = sequence_windows(d, 40.0)
    means = [err[w].mean() for w in windows]
    assert stats['seq_mean_m'] == pytest.approx(np.mean(means))
    assert stats['seq_median_m'] == pytest.approx(np.median(means))


def test_heading_wraps():
    err = heading_errors_rad(np.array([np.pi - 0.1, 0.2]), np.array([-np.pi + 0.1, -0.2]))
    np.testing.assert_allclose(err, [0.2, 0.4])


def test_nees_of_a_consistent_gaussian_estimator_is_two_and_ellipse_shares_match():
    from cvseq_localizer.train.metrics import consistency_stats, nees_2d

    rng = np.random.default_rng(1)
    cov = np.array([[4.0, 1.5], [1.5, 1.0]])
    err = rng.multivariate_normal(np.zeros(2), cov, 20000)
    nees = nees_2d(err, np.broadcast_to(cov, (20000, 2, 2)))
    s = consistency_stats(nees)
    assert s['nees_mean'] == pytest.approx(2.0, rel=0.05) and s['nees_ratio'] == pytest.approx(
        1.0, rel=0.05
    )
    assert s['within_1sigma_frac'] == pytest.approx(1 - np.exp(-0.5), abs=0.01)
    assert s['within_2sigma_frac'] == pytest.approx(1 - np.exp(-2.0), abs=0.01)
    # an estimator claiming half the spread is overconfident: NEES doubles
    assert consistency_stats(nees_2d(err, np.broadcast_to(cov / 2, (20000, 2, 2))))[
        'nees_mean'
    ] == pytest.approx(4.0, rel=0.05)


def test_nees_known_value_and_invalid_rows():
    from cvseq_localizer.train.metrics import consistency_stats, nees_2d

    err = np.array([[2.0, 0.0], [0.0, 3.0], [np.nan, 0.0], [1.0, 1.0]])
    cov = np.array([np.diag([4.0, 1.0]), np.diag([4.0, 9.0]), np.eye(2), np.zeros((2, 2))])
    nees = nees_2d(err, cov)
    assert nees[:2] == pytest.approx([1.0, 1.0])
    assert np.isnan(nees[2]) and np.isnan(nees[3])  # NaN error, singular covariance
    assert consistency_stats(nees)['within_1sigma_frac'] == 1.0
    assert np.isnan(consistency_stats(np.array([np.nan]))['nees_mean'])
