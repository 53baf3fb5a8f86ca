"""Estimates away from the filter time: at a past stamp (the particles' own past, weighted by
everything fused since) and extrapolated a little ahead."""

from __future__ import annotations

import numpy as np

from cvseq_localizer.filter.config import FilterConfig
from cvseq_localizer.filter.history import PastState
from cvseq_localizer.filter.particles import Particles, wrap_angle
from cvseq_localizer.filter.summary import summarize
from cvseq_localizer.types import Estimate


def past_estimate(live: Particles, past: PastState, stamp_ns: int) -> Estimate:
    """Summary of the live particles' states at ``stamp_ns`` with their current weights."""
    p = Particles(past.xy_enu_m, live.speed_mps, past.yaw_rad, live.yaw_rate_radps, live.log_w,
                  past.bias_enu_m)  # fmt: skip
    return summarize(p, stamp_ns)


def extrapolated(live: Particles, stamp_ns: int, now_ns: int, config: FilterConfig) -> Estimate:
    """Each particle moved ahead by its speed and yaw rate to ``stamp_ns`` (no noise drawn, so
    the filter's random stream is untouched); the covariance grows by the motion model's
    position noise over the interval (capped at ``max_gap_s``)."""
    dt = min(max(stamp_ns - now_ns, 0) * 1e-9, config.max_gap_s)
    yaw_mid = live.yaw_rad + 0.5 * live.yaw_rate_radps * dt
    xy = live.xy_enu_m + (live.speed_mps * dt)[:, None] * np.stack(
        [np.cos(yaw_mid), np.sin(yaw_mid)], axis=1
    )
    yaw = wrap_angle(live.yaw_rad + live.yaw_rate_radps * dt)
    p = Particles(xy, live.speed_mps, yaw, live.yaw_rate_radps, live.log_w, live.bias_enu_m)
    est = summarize(p, stamp_ns)
    grow = config.accel_noise_mps2**2 * dt**3 / 3.0 + config.position_noise_mps**2 * dt
    return Estimate(est.stamp_ns, est.xy_enu_m, est.cov_xy_m2 + np.eye(2) * grow, est.yaw_rad,
                    est.yaw_var_rad2, est.speed_mps, est.ess)  # fmt: skip
