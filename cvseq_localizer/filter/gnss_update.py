"""The filter's GNSS step: the robust mixture model (default) or the paper's gated Gaussian.

A friend of ``ParticleFilter`` (it reads and updates the filter's state); kept apart so each
file stays one idea.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from cvseq_localizer.filter import fix_track as T
from cvseq_localizer.filter import results as R
from cvseq_localizer.filter.core import seed_motion
from cvseq_localizer.filter.gnss import (
    REANCHOR,
    REJECT,
    gnss_log_likelihood,
    max_sigma_m,
    robust_gnss_log_likelihood,
)
from cvseq_localizer.filter.heading import heading_log_likelihood
from cvseq_localizer.filter.history import PastState
from cvseq_localizer.filter.results import FilterEvent
from cvseq_localizer.filter.summary import summarize, weighted_mean_xy

if TYPE_CHECKING:
    from cvseq_localizer.filter.particle_filter import ParticleFilter

GNSS_REANCHOR = 'GNSS re-anchor after consecutive consistent rejections'
TRACK_PROMOTED = 'GNSS fix track jumped and stayed (re-anchor on the new track)'


def apply_fix(
    pf: ParticleFilter, stamp_ns: int, xy: np.ndarray, cov: np.ndarray, past: PastState | None
) -> tuple[str, str, float]:
    """Fuse one fix at ``stamp_ns`` (``past``: the particles' states there if it is late).

    Returns ``(status, reason, inlier_prob)``.
    """
    if pf.config.gnss_model == 'robust':
        return _robust(pf, stamp_ns, xy, cov, past)
    return _paper_gate(pf, stamp_ns, xy, cov, past)


def _robust(pf, stamp_ns, xy, cov, past) -> tuple[str, str, float]:
    cfg, p = pf.config, pf._particles
    if cfg.gnss_jump_check:
        label = pf._fix_track.add(stamp_ns, xy, max_sigma_m(cov))
        if label == T.SUSPECT:
            expected = weighted_mean_xy(p.weights(), p.xy_enu_m + p.bias_enu_m)
            pf._monitor.clear_if_near(expected, xy, max_sigma_m(cov), cfg)
            pf.stats.fixes_rejected += 1
            pf._throttle.warn('jump', 'GNSS fix rejected: the fix track jumped (multipath?)')
            return R.REJECTED, R.JUMP, float('nan')
        if label == T.PROMOTED and (cfg.reanchor_promoted_with_grid
                                    or pf._gnss_only_at(stamp_ns)):  # fmt: skip
            pf.stats.reanchors += 1
            return _restart_at_fix(pf, stamp_ns, xy, cov, TRACK_PROMOTED)
        if (pf._stamp_ns - stamp_ns) * 1e-9 <= 1.0:  # in order, or late by a receiver's latency
            _check_motion(pf, stamp_ns)
    pos = p.xy_enu_m if past is None else past.xy_enu_m
    bias = p.bias_enu_m if past is None else past.bias_enu_m
    w = p.weights()
    # the fix is expected at position + receiver bias (the bias state, zero on GNSS alone)
    predicted = pos + bias
    expected = weighted_mean_xy(w, predicted)
    after_s = _diverge_after_s(pf, stamp_ns)
    reason = pf._monitor.on_fix(stamp_ns, expected, xy, max_sigma_m(cov), cfg, after_s,
                                weighted_mean_xy(w, pos))  # fmt: skip
    if reason:
        return _restart_at_fix(pf, stamp_ns, xy, cov, reason, divergence=True)
    reported = max_sigma_m(cov)
    if cfg.gnss_adaptive_white:
        sigma_w = pf._white.sigma_m(reported, cfg.gnss_white_fraction, cfg.gnss_min_sigma_m)
    else:
        sigma_w = max(cfg.gnss_white_fraction * reported, cfg.gnss_min_sigma_m)
    spread = predicted - expected[None, :]
    pf._white.add(float(np.hypot(*(xy - expected))), float(np.sum(w[:, None] * spread**2)) / 2.0)
    log_lik, core = robust_gnss_log_likelihood(
        predicted, xy, cov * (sigma_w / reported) ** 2, cfg.gnss_outlier_weight,
        cfg.gnss_outlier_sigma_m,
    )  # fmt: skip
    inlier = float(np.sum(w * core))
    pf._track_bias_var(stamp_ns, cov)
    if not pf._reweight(log_lik / cfg.gnss_temperature, 'GNSS'):
        pf.stats.fixes_ignored += 1
        return R.IGNORED, R.NON_FINITE, inlier
    pf.stats.fixes_accepted += 1
    if inlier > 0.5 and (pf._last_fix is None or stamp_ns >= pf._last_fix[0]):
        pf._last_fix = (stamp_ns, xy, cov)
    if past is None:
        _fuse_track_heading(pf, stamp_ns)
    return R.USED, '', inlier


def _fuse_track_heading(pf: ParticleFilter, stamp_ns: int) -> None:
    """Weight the particles' yaw by the fix track's heading (``FilterConfig.track_heading_*``)
    when the track took this fix and moves; GNSS alone (and with odometry when enabled)."""
    cfg, p = pf.config, pf._particles
    if cfg.track_heading_std_scale <= 0 or not cfg.gnss_jump_check:
        return
    if not pf._gnss_only_at(stamp_ns):
        return
    if pf._odometry_active(stamp_ns) and not cfg.track_heading_with_odometry:
        return
    heading = pf._fix_track.heading(cfg.motion_check_min_speed_mps)
    if heading is None or heading[2] != stamp_ns:
        return
    floor = math.radians(cfg.track_heading_min_std_deg)
    std = max(heading[1] * cfg.track_heading_std_scale, floor)
    log_lik, _ = heading_log_likelihood(p.yaw_rad, heading[0], std, cfg.heading_outlier_weight)
    pf._reweight(log_lik, 'track heading')


def _diverge_after_s(pf: ParticleFilter, stamp_ns: int) -> float:
    """How long the estimate may stay far from the fixes: short on GNSS alone, long while the
    network is informative (it is then more accurate than the receiver's drifting bias)."""
    cfg = pf.config
    if pf._gnss_only_at(stamp_ns):
        return cfg.robust_diverge_after_s
    return max(cfg.robust_diverge_after_s, cfg.diverge_with_grid_after_s)


def _restart_at_fix(
    pf: ParticleFilter,
    stamp_ns: int,
    xy: np.ndarray,
    cov: np.ndarray,
    reason: str,
    divergence: bool = False,
) -> tuple[str, str, float]:
    """Re-initialise on this fix (a divergence, or a promoted fix-track jump); the fix counts
    as used and becomes the last good fix."""
    if divergence:
        pf._diverge(reason, stamp_ns, xy, cov)
    else:
        pf._reinitialize(stamp_ns, xy, cov, reason, keep_motion=False)
    pf.stats.fixes_accepted += 1
    pf._last_fix = (stamp_ns, xy, cov)
    return R.USED, '', 1.0


def _check_motion(pf: ParticleFilter, stamp_ns: int) -> None:
    """Re-draw speed and yaw from the fix track when the cloud's heading has disagreed with
    the track's for ``motion_check_after_s`` (see ``FilterConfig.motion_check_*``)."""
    cfg, p = pf.config, pf._particles
    if cfg.motion_check_after_s <= 0:
        return
    min_deg = cfg.motion_check_min_deg
    if not cfg.motion_check_with_grid and not pf._gnss_only_at(stamp_ns):
        min_deg = cfg.motion_check_grid_min_deg  # the network's heading is usually better then
        if min_deg <= 0:
            pf._motion_far_since_ns = None
            return
    heading = pf._fix_track.heading(cfg.motion_check_min_speed_mps)
    # Odometry that says the vehicle stands (or crawls) outranks a moving fix track: dev urban
    # 399 stood at a light while a multipath jump moved the track at 8 m/s, 100 deg off the
    # network-confirmed heading; the re-drawn heading then carried the cloud 130 m off.
    standing = pf._odometry_active(stamp_ns) and abs(pf._odom[1]) < cfg.motion_check_min_speed_mps
    if heading is None or standing:
        pf._motion_far_since_ns = None
        return
    yaw_track, yaw_std, _ = heading
    w = p.weights()
    yaw = math.atan2(float(np.sum(w * np.sin(p.yaw_rad))), float(np.sum(w * np.cos(p.yaw_rad))))
    off = abs((yaw - yaw_track + math.pi) % (2 * math.pi) - math.pi)
    if off <= max(cfg.motion_check_n_sigma * yaw_std, math.radians(min_deg)):
        pf._motion_far_since_ns = None
        return
    if pf._motion_far_since_ns is None:
        pf._motion_far_since_ns = stamp_ns
    if (stamp_ns - pf._motion_far_since_ns) * 1e-9 < cfg.motion_check_after_s:
        return
    seed_motion(p, *pf._fix_track.velocity(), pf._rng)
    pf._est = None
    pf._motion_far_since_ns = None
    pf.stats.motion_reseeds += 1
    pf._events.append(FilterEvent(R.MOTION_RESEEDED, R.MOTION_DISAGREES, int(stamp_ns)))
    pf._throttle.warn('motion', 'speed/yaw re-drawn: %s', R.MOTION_DISAGREES)


def _paper_gate(pf, stamp_ns, xy, cov, past) -> tuple[str, str, float]:
    cfg, p = pf.config, pf._particles
    pos = p.xy_enu_m if past is None else past.xy_enu_m
    sigma_m = max_sigma_m(cov)
    w = p.weights()
    mean_xy = weighted_mean_xy(w, pos)
    speed = float(np.sum(w * p.speed_mps))
    if cfg.gate_on_estimate:
        # gate on the predicted cloud's spread, plus a speed margin over the time since the
        # last accepted fix (the gate re-opens as time passes)
        est_sigma = max_sigma_m(summarize(p).cov_xy_m2)
        since_ns = pf._last_fix[0] if pf._last_fix is not None else stamp_ns
        pf._gate.anchor(mean_xy, since_ns, est_sigma)
        decision = pf._gate.check(stamp_ns, xy, sigma_m, speed, cfg, cfg.gate_estimate_margin_mps)
    else:
        decision = pf._gate.check(stamp_ns, xy, sigma_m, speed, cfg)
    if decision == REJECT:
        pf.stats.fixes_rejected += 1
        pf._throttle.warn('gate', 'GNSS fix rejected by the gate (%s)', xy)
        return R.REJECTED, R.GATE, float('nan')
    pf.stats.fixes_accepted += 1
    pf._last_fix = (stamp_ns, xy, cov)
    if decision == REANCHOR:
        pf.stats.reanchors += 1
        pf._reinitialize(stamp_ns, xy, cov, GNSS_REANCHOR, keep_motion=True)
        return R.USED, '', float('nan')
    reason = pf._monitor.on_fix(stamp_ns, mean_xy, xy, sigma_m, cfg)
    if reason:
        pf._diverge(reason, stamp_ns, xy, cov)
        return R.USED, '', float('nan')
    log_lik = gnss_log_likelihood(pos, xy, cov)
    pf._reweight(log_lik / cfg.gnss_temperature, 'GNSS')
    return R.USED, '', float('nan')
