"""Log-weight normalisation, effective sample size, systematic resampling and roughening."""

from __future__ import annotations

import numpy as np

from cvseq_localizer.filter.particles import Particles, wrap_angle


def log_normalize(log_w: np.ndarray) -> np.ndarray:
    """Log-weights shifted so that ``logsumexp == 0`` (input must have a finite maximum)."""
    top = np.max(log_w)
    return log_w - (top + np.log(np.sum(np.exp(log_w - top))))


def effective_sample_size(log_w: np.ndarray) -> float:
    """``1 / sum(w^2)`` of normalised log-weights, in ``[1, M]``."""
    return float(1.0 / np.sum(np.exp(2.0 * log_w)))


def systematic_resample(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``(M,)`` indices drawn by systematic (low-variance) resampling of normalised weights."""
    m = weights.shape[0]
    positions = (rng.random() + np.arange(m)) / m
    cdf = np.cumsum(weights)
    cdf[-1] = 1.0
    return np.minimum(np.searchsorted(cdf, positions, side='right'), m - 1)


def roughen(
    p: Particles,
    xy_m: float,
    speed_mps: float,
    yaw_rad: float,
    rng: np.random.Generator,
) -> None:
    """Add small Gaussian jitter to resampled particles (in place) against impoverishment."""
    noise = rng.standard_normal((4, p.size))
    p.xy_enu_m += xy_m * noise[:2].T
    p.speed_mps = p.speed_mps + speed_mps * noise[2]  # the motion model bounds the speed
    p.yaw_rad = wrap_angle(p.yaw_rad + yaw_rad * noise[3])
