"""Localisation error metrics: the forms of seed 004's Table III and the paper's sequence error.

Pure numpy; used by training validation and ``cvseq-evaluate``.
"""

from __future__ import annotations

import numpy as np


def error_stats(errors_m: np.ndarray) -> dict[str, float]:
    """Mean, median and 90/95/99 % quantiles of position errors (m), NaNs dropped.

    Returns keys ``mean_m, median_m, p90_m, p95_m, p99_m, n``; NaN values when there are none.
    """
    err = np.asarray(errors_m, np.float64)
    err = err[np.isfinite(err)]
    if err.size == 0:
        nan = float('nan')
        return {'mean_m': nan, 'median_m': nan, 'p90_m': nan, 'p95_m': nan, 'p99_m': nan, 'n': 0}
    q = np.quantile(err, [0.5, 0.9, 0.95, 0.99])
    return {
        'mean_m': float(err.mean()),
        'median_m': float(q[0]),
        'p90_m': float(q[1]),
        'p95_m': float(q[2]),
        'p99_m': float(q[3]),
        'n': int(err.size),
    }


def sequence_windows(distance_m: np.ndarray, window_m: float = 50.0) -> list[np.ndarray]:
    """Index windows over a drive, as the paper's KITTI split: extend from a start frame until the
    travelled distance exceeds ``window_m``; the next window starts at the midpoint.

    Args:
        distance_m: cumulative distance travelled at each frame (non-decreasing).
    """
    d = np.asarray(distance_m, np.float64)
    windows = []
    start = 0
    while start < len(d):
        end = int(np.searchsorted(d, d[start] + window_m, side='right'))
        windows.append(np.arange(start, min(end, len(d))))
        if end >= len(d):
            break
        mid = int(np.searchsorted(d, d[start] + window_m / 2, side='left'))
        start = max(mid, start + 1)
    return windows


def window_means(
    errors_m: np.ndarray, distance_m: np.ndarray, window_m: float = 50.0, min_frames: int = 2
) -> np.ndarray:
    """Mean error of each window (``sequence_windows``) with at least ``min_frames`` values."""
    err = np.asarray(errors_m, np.float64)
    per_window = []
    for idx in sequence_windows(distance_m, window_m):
        e = err[idx]
        e = e[np.isfinite(e)]
        if e.size >= min_frames:
            per_window.append(e.mean())
    return np.asarray(per_window, np.float64)


def sequence_stats(
    errors_m: np.ndarray, distance_m: np.ndarray, window_m: float = 50.0, min_frames: int = 2
) -> dict[str, float]:
    """The paper's metric: mean and median over windows of each window's mean error.

    Returns ``seq_mean_m``, ``seq_median_m`` and ``seq_count``.
    """
    return pooled_sequence_stats(window_means(errors_m, distance_m, window_m, min_frames))


def pooled_sequence_stats(per_window: np.ndarray) -> dict[str, float]:
    """Sequence mean/median from window means (e.g. pooled over several drives)."""
    arr = np.asarray(per_window, np.float64)
    if arr.size == 0:
        return {'seq_mean_m': float('nan'), 'seq_median_m': float('nan'), 'seq_count': 0}
    return {
        'seq_mean_m': float(arr.mean()),
        'seq_median_m': float(np.median(arr)),
        'seq_count': int(arr.size),
    }


def heading_errors_rad(yaw_rad: np.ndarray, yaw_true_rad: np.ndarray) -> np.ndarray:
    """Absolute wrapped heading difference in [0, pi]."""
    d = np.asarray(yaw_rad, np.float64) - np.asarray(yaw_true_rad, np.float64)
    return np.abs((d + np.pi) % (2 * np.pi) - np.pi)


def nees_2d(error_xy_m: np.ndarray, cov_xy_m2: np.ndarray) -> np.ndarray:
    """Normalised estimation error squared ``e^T P^-1 e`` of ``(N, 2)`` errors (m) under
    ``(N, 2, 2)`` covariances (m^2); NaN where the error or covariance is not finite or the
    covariance is singular. Its expected value for a consistent 2-D estimator is 2."""
    e = np.asarray(error_xy_m, np.float64).reshape(-1, 2)
    p = np.asarray(cov_xy_m2, np.float64).reshape(-1, 2, 2)
    det = p[:, 0, 0] * p[:, 1, 1] - p[:, 0, 1] * p[:, 1, 0]
    ok = np.isfinite(det) & (det > 0) & np.all(np.isfinite(e), axis=1)
    safe = np.where(ok, det, 1.0)
    # closed-form 2x2 inverse: e^T adj(P) e / det(P)
    q = p[:, 1, 1] * e[:, 0] ** 2 - (p[:, 0, 1] + p[:, 1, 0]) * e[:, 0] * e[:, 1]
    q = q + p[:, 0, 0] * e[:, 1] ** 2
    return np.where(ok, q / safe, np.nan)


def consistency_stats(nees: np.ndarray) -> dict[str, float]:
    """Mean NEES (expected 2 in 2-D), its ratio to 2, and the shares of errors inside the
    1- and 2-sigma ellipses (``NEES <= 1`` and ``<= 4``; expected 0.393 and 0.865 for a
    Gaussian). NaNs dropped; NaN values when there are none."""
    x = np.asarray(nees, np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        nan = float('nan')
        return {'nees_mean': nan, 'nees_ratio': nan, 'within_1sigma_frac': nan,
                'within_2sigma_frac': nan}  # fmt: skip
    return {
        'nees_mean': float(x.mean()),
        'nees_ratio': float(x.mean() / 2.0),
        'within_1sigma_frac': float(np.mean(x <= 1.0)),
        'within_2sigma_frac': float(np.mean(x <= 4.0)),
    }
