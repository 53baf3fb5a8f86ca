"""Weighted statistics of the particle set: mean, covariance, circular yaw, speed, ESS."""

from __future__ import annotations

import math

import numpy as np

from cvseq_localizer.filter.particles import Particles
from cvseq_localizer.types import Estimate

YAW_VAR_UNIFORM_RAD2 = math.pi**2 / 3.0  # variance of a uniform heading; the cap of yaw_var


def weighted_mean_xy(w: np.ndarray, xy_enu_m: np.ndarray) -> np.ndarray:
    """``(2,)`` weighted mean of ``(M, 2)`` positions (ufunc sums: no BLAS threads to wake)."""
    return np.sum(w[:, None] * xy_enu_m, axis=0)


def summarize(p: Particles, stamp_ns: int = 0) -> Estimate:
    """Weighted mean position and ``(2, 2)`` covariance, circular mean and variance of yaw
    (``-2 ln R``, capped at the uniform value pi^2/3), mean speed and effective sample size, as
    an :class:`Estimate` at ``stamp_ns`` (flags left at their defaults for the caller to set)."""
    w = p.weights()
    mean = weighted_mean_xy(w, p.xy_enu_m)
    dx = p.xy_enu_m[:, 0] - mean[0]
    dy = p.xy_enu_m[:, 1] - mean[1]
    wdx = w * dx
    cxy = float(np.sum(wdx * dy))
    cov = np.array([[float(np.sum(wdx * dx)), cxy], [cxy, float(np.sum(w * dy * dy))]])
    c = float(np.sum(w * np.cos(p.yaw_rad)))
    s = float(np.sum(w * np.sin(p.yaw_rad)))
    r = math.hypot(c, s)
    yaw = math.atan2(s, c) if r > 1e-12 else 0.0
    yaw_var = min(-2.0 * math.log(max(r, 1e-300)), YAW_VAR_UNIFORM_RAD2)
    speed = float(np.sum(w * p.speed_mps))
    ess = float(1.0 / np.sum(w * w))
    return Estimate(stamp_ns, mean, cov, yaw, max(yaw_var, 0.0), speed, ess)
