"""Input checks shared by the filter's updates: positions and odometry samples."""

from __future__ import annotations

import math

import numpy as np

from cvseq_localizer.filter.config import FilterConfig

MAX_ABS_ENU_M = 1e7  # positions beyond this are not in a local map frame: ignored
MAX_ABS_YAW_RATE_RADPS = 3.0  # faster turning is no car: the odometry sample is ignored
MAX_ODOM_VAR = 1e4  # odometry variances beyond this are absurd (m^2/s^2 or rad^2/s^2)


def position(xy_enu_m: np.ndarray) -> np.ndarray | None:
    """``(2,)`` float64 ENU position, or None if it is not finite or absurdly far away."""
    try:
        xy = np.asarray(xy_enu_m, np.float64).reshape(-1)
    except (TypeError, ValueError):
        return None
    if xy.shape != (2,) or not np.all(np.isfinite(xy)) or np.max(np.abs(xy)) > MAX_ABS_ENU_M:
        return None
    return xy


def odometry_problem(
    speed_mps: float,
    yaw_rate_radps: float,
    speed_var: float | None,
    yaw_rate_var: float | None,
    config: FilterConfig,
) -> str:
    """Why an odometry sample is unusable (``''`` if usable); ``None`` variances mean the
    configured floors."""
    try:
        v, w = float(speed_mps), float(yaw_rate_radps)
        variances = [float(x) for x in (speed_var, yaw_rate_var) if x is not None]
    except (TypeError, ValueError):
        return 'not a number'
    if not (math.isfinite(v) and math.isfinite(w)):
        return 'non-finite speed or yaw rate'
    if abs(v) > config.odom_max_abs_speed_mps or abs(w) > MAX_ABS_YAW_RATE_RADPS:
        return f'absurd speed {v:.1f} m/s or yaw rate {w:.2f} rad/s'
    if any(not math.isfinite(x) or x < 0 or x > MAX_ODOM_VAR for x in variances):
        return 'non-finite, negative or absurd variance'
    return ''


def cov_problem(cov_xy_m2: np.ndarray | None, config: FilterConfig) -> str:
    """Why a reported fix covariance (m^2) is unusable (``''`` if usable or ``None``: unknown
    covariances use the fallback sigma). NaN, malformed, all-zero or negative and absurdly
    large (std beyond ``gnss_max_sigma_m``) covariances make the fix unusable."""
    if cov_xy_m2 is None:
        return ''
    try:
        cov = np.asarray(cov_xy_m2, np.float64)
    except (TypeError, ValueError):
        return 'malformed covariance'
    if cov.shape != (2, 2) or not np.all(np.isfinite(cov)):
        return 'non-finite or malformed covariance'
    top = float(np.max(np.linalg.eigvalsh(0.5 * (cov + cov.T))))
    if top <= 0.0:
        return 'zero or negative covariance'
    if top > config.gnss_max_sigma_m**2:
        return f'absurd covariance (std {math.sqrt(top):.0f} m)'
    return ''
