"""``ParticleFilter``: GNSS and cross-view grid beliefs fused over a constant-velocity model.

Starts from paper 004 section III-D (4D state east, north, forward speed, yaw; 2000 particles;
Gaussian GNSS term; gate ``3 sigma + v dt``) and improves on it: weights in log space, resampling
only when the effective sample size drops, a floored and tempered mixture likelihood for the
network's grid, counted rejections with re-anchoring on persistent jumps, divergence detection
and re-initialisation, and a weighted-mean estimate with covariance.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from cvseq_localizer.filter.config import FilterConfig
from cvseq_localizer.filter.divergence import DivergenceMonitor
from cvseq_localizer.filter.gnss import (
    REANCHOR,
    REJECT,
    GnssGate,
    gnss_log_likelihood,
    max_sigma_m,
    sanitize_cov,
)
from cvseq_localizer.filter.grid import grid_log_likelihood, validate_grid
from cvseq_localizer.filter.motion import propagate
from cvseq_localizer.filter.particles import Particles, initial_particles
from cvseq_localizer.filter.resampling import (
    effective_sample_size,
    log_normalize,
    roughen,
    systematic_resample,
)
from cvseq_localizer.filter.stats import FilterStats, WarnThrottle
from cvseq_localizer.filter.summary import summarize, weighted_mean_xy
from cvseq_localizer.types import Estimate

log = logging.getLogger(__name__)

_MAX_ABS_ENU_M = 1e7  # positions beyond this are not in a local map frame: ignored
CLOCK_JUMP = 'clock jumped back'
GNSS_REANCHOR = 'GNSS re-anchor after consecutive consistent rejections'


class ParticleFilter:
    """Particle filter over ``(east, north, speed, yaw, yaw rate)`` in the ENU map frame.

    All stamps are integer nanoseconds. ``update_*`` predict to their stamp first when it is
    newer than the filter time; slightly older stamps (``max_backward_ns``) are applied without
    motion; a stamp further back resets the filter (clock jumped back).
    """

    def __init__(self, config: FilterConfig, rng: np.random.Generator) -> None:
        self.config = config
        self._rng = rng
        self.stats = FilterStats()
        self._throttle = WarnThrottle(log, config.warn_period_s)
        self._gate = GnssGate()
        self._monitor = DivergenceMonitor()
        self._particles: Particles | None = None
        self._stamp_ns = 0
        self._last_grid_ns: int | None = None
        self._last_divergence_ns: int | None = None
        self._last_fix: tuple[int, np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------------------------ lifecycle
    @property
    def is_initialized(self) -> bool:
        return self._particles is not None

    @property
    def stamp_ns(self) -> int:
        """Time of the particle set, ns (0 before initialisation)."""
        return self._stamp_ns

    @property
    def particles(self) -> Particles | None:
        """The current particle set (read-only by convention; ``None`` before initialisation)."""
        return self._particles

    def initialize(self, stamp_ns: int, xy_enu_m: np.ndarray, cov_xy_m2: np.ndarray) -> None:
        """Spread particles around ``xy_enu_m`` ``(2,)`` with covariance ``(2, 2)`` (m^2).

        Yaw is uniform and speed uniform in ``[0, init_speed_max_mps]``. An unusable covariance
        falls back to ``gnss_fallback_sigma_m``.
        """
        xy = _position(xy_enu_m)
        if xy is None:
            raise ValueError(f'cannot initialise from position {xy_enu_m!r}')
        cov = sanitize_cov(cov_xy_m2, self.config)
        self._particles = self._initial_particles(xy, cov)
        self._stamp_ns = int(stamp_ns)
        self._gate.reset(xy, stamp_ns, max_sigma_m(cov))
        self._monitor.reset()
        self._last_fix = (int(stamp_ns), xy, cov)
        self._last_grid_ns = None
        log.info('particle filter initialised at (%.1f, %.1f) m', xy[0], xy[1])

    def reset(self) -> None:
        """Forget the particles and the gate (counters in ``stats`` are kept)."""
        self._particles = None
        self._stamp_ns = 0
        self._gate.reset()
        self._monitor.reset()
        self._last_grid_ns = None
        self._last_divergence_ns = None
        self._last_fix = None

    # --------------------------------------------------------------------------------- motion
    def predict(self, stamp_ns: int) -> None:
        """Move the particles to ``stamp_ns`` (no-op before initialisation or for dt <= 0)."""
        if self._particles is not None:
            self._advance(int(stamp_ns))

    def _advance(self, stamp_ns: int) -> bool:
        """Predict to ``stamp_ns``; False if the clock jumped back and the filter was reset."""
        dt_ns = stamp_ns - self._stamp_ns
        if dt_ns < -self.config.max_backward_ns:
            self._throttle.warn('clock', 'stamp went back by %.3f s: resetting', -dt_ns * 1e-9)
            self.reset()
            self.stats.clock_resets += 1
            self._count_reinit(CLOCK_JUMP)
            return False
        if dt_ns <= 0:
            return True
        dt_s = dt_ns * 1e-9
        if dt_s > self.config.max_gap_s:
            self._throttle.warn('gap', 'gap of %.1f s: motion capped at max_gap_s', dt_s)
        propagate(self._particles, dt_s, self.config, self._rng)
        self._stamp_ns = stamp_ns
        return True

    # ----------------------------------------------------------------------------------- GNSS
    def update_gnss(
        self, stamp_ns: int, xy_enu_m: np.ndarray, cov_xy_m2: np.ndarray | None
    ) -> bool:
        """Weight the particles by a GNSS fix ``(2,)`` ENU m; returns True if the fix was used.

        ``cov_xy_m2`` ``(2, 2)`` m^2 or ``None`` (unknown: fallback sigma). NaN positions are
        ignored and counted; fixes outside the gate are rejected and counted. The first usable
        fix (or the first after a reset) initialises the filter.
        """
        stamp_ns = int(stamp_ns)
        xy = _position(xy_enu_m)
        if xy is None:
            self.stats.fixes_ignored += 1
            self._throttle.warn('fix', 'ignoring GNSS fix with unusable position %r', xy_enu_m)
            return False
        cov = sanitize_cov(cov_xy_m2, self.config)
        if self._particles is None or not self._advance(stamp_ns):
            self.initialize(stamp_ns, xy, cov)
            self.stats.fixes_accepted += 1
            return True
        return self._apply_fix(stamp_ns, xy, cov)

    def _apply_fix(self, stamp_ns: int, xy: np.ndarray, cov: np.ndarray) -> bool:
        sigma_m = max_sigma_m(cov)
        w = self._particles.weights()
        mean_xy = weighted_mean_xy(w, self._particles.xy_enu_m)
        speed = float(np.sum(w * self._particles.speed_mps))
        if self.config.gate_on_estimate:
            # The prediction already moved the cloud: gate on its spread, plus the speed margin
            # over the time since the last accepted fix (the gate re-opens as time passes).
            cov_est = summarize(self._particles).cov_xy_m2
            est_sigma = float(np.sqrt(max(np.linalg.eigvalsh(cov_est)[-1], 0.0)))
            since_ns = self._last_fix[0] if self._last_fix is not None else stamp_ns
            self._gate.anchor(mean_xy, since_ns, est_sigma)
            decision = self._gate.check(
                stamp_ns, xy, sigma_m, speed, self.config, self.config.gate_estimate_margin_mps
            )
        else:
            decision = self._gate.check(stamp_ns, xy, sigma_m, speed, self.config)
        if decision == REJECT:
            self.stats.fixes_rejected += 1
            self._throttle.warn('gate', 'GNSS fix rejected by the gate (%s)', xy)
            return False
        self.stats.fixes_accepted += 1
        self._last_fix = (stamp_ns, xy, cov)
        if decision == REANCHOR:
            self.stats.reanchors += 1
            self._reinitialize(stamp_ns, xy, cov, GNSS_REANCHOR, keep_motion=True)
            return True
        reason = self._monitor.on_fix(stamp_ns, mean_xy, xy, sigma_m, self.config)
        if reason:
            self._diverge(reason, stamp_ns, xy, cov)
            return True
        log_lik = gnss_log_likelihood(self._particles.xy_enu_m, xy, cov)
        self._reweight(log_lik / self.config.gnss_temperature, 'GNSS')
        return True

    # ----------------------------------------------------------------------------------- grid
    def update_grid(
        self, stamp_ns: int, points_enu_m: np.ndarray, probs: np.ndarray, cell_size_m: float
    ) -> bool:
        """Weight the particles by the network's grid belief; returns True if it was used.

        ``points_enu_m`` ``(K, 2)`` refined cell positions (ENU m), ``probs`` ``(K,)`` their
        probabilities, ``cell_size_m`` the cell edge (m). Invalid input (NaN, all zero, wrong
        shapes) is ignored with a rate-limited warning and counted.
        """
        stamp_ns = int(stamp_ns)
        points = np.asarray(points_enu_m, np.float64)
        p = np.asarray(probs, np.float64).reshape(-1)
        problem = validate_grid(points, p, float(cell_size_m))
        if not problem and np.max(np.abs(points)) > _MAX_ABS_ENU_M:
            problem = 'points outside the local map frame'
        if problem or self._particles is None:
            self.stats.grids_ignored += 1
            if problem:
                self._throttle.warn('grid', 'ignoring grid frame: %s', problem)
            return False
        if not self._advance(stamp_ns):
            self.stats.grids_ignored += 1
            return False
        lik = grid_log_likelihood(self._particles.xy_enu_m, points, p, cell_size_m, self.config)
        if not self._reweight(lik.log_lik, 'grid'):
            self.stats.grids_ignored += 1
            return False
        self.stats.grids_used += 1
        if lik.at_floor:
            self.stats.grid_floor_frames += 1
        else:
            self._last_grid_ns = stamp_ns
        reason = self._monitor.on_grid(lik.at_floor, self.config)
        if reason:
            self._diverge(reason, stamp_ns, *self._fallback_fix(stamp_ns))
        return True

    # ------------------------------------------------------------------------------- estimate
    def estimate(self) -> Estimate:
        """The weighted estimate at the filter time (raises before initialisation).

        ``gnss_only`` is set when no informative grid frame was used within
        ``gnss_only_timeout_s``; ``diverged`` within ``diverged_hold_s`` of a divergence.
        """
        if self._particles is None:
            raise RuntimeError('ParticleFilter.estimate() before initialisation')
        cfg = self.config
        gnss_only = self._last_grid_ns is None or (
            (self._stamp_ns - self._last_grid_ns) * 1e-9 > cfg.gnss_only_timeout_s
        )
        diverged = self._last_divergence_ns is not None and (
            (self._stamp_ns - self._last_divergence_ns) * 1e-9 <= cfg.diverged_hold_s
        )
        return replace(
            summarize(self._particles, self._stamp_ns),
            gnss_only=bool(gnss_only),
            diverged=bool(diverged),
        )

    # ------------------------------------------------------------------------------ internals
    def _reweight(self, log_lik: np.ndarray, source: str) -> bool:
        """Add a log-likelihood; resample when the ESS is low. False if it was not finite."""
        log_w = self._particles.log_w + log_lik
        if not np.all(np.isfinite(log_w)):
            self._throttle.warn('weights', 'non-finite %s likelihood: update dropped', source)
            return False
        self._particles.log_w = log_normalize(log_w)
        m = self._particles.size
        if effective_sample_size(self._particles.log_w) < self.config.resample_ess_ratio * m:
            idx = systematic_resample(self._particles.weights(), self._rng)
            self._particles = self._particles.take(idx)
            cfg = self.config
            roughen(
                self._particles,
                cfg.roughen_xy_m,
                cfg.roughen_speed_mps,
                cfg.roughen_yaw_rad,
                self._rng,
            )
            self.stats.resamples += 1
        return True

    def _fallback_fix(self, stamp_ns: int) -> tuple[np.ndarray, np.ndarray]:
        """Where to re-initialise without a new fix: the last accepted fix, its covariance grown
        by the distance driven since (ENU m, m^2); the estimate if there was no fix."""
        s = summarize(self._particles)
        if self._last_fix is None:
            return s.xy_enu_m, s.cov_xy_m2 + np.eye(2) * self.config.gnss_fallback_sigma_m**2
        fix_ns, xy, cov = self._last_fix
        age_s = min(max(stamp_ns - fix_ns, 0) * 1e-9, self.config.max_gap_s)
        return xy, cov + np.eye(2) * (s.speed_mps * age_s) ** 2

    def _diverge(self, reason: str, stamp_ns: int, xy: np.ndarray, cov: np.ndarray) -> None:
        self.stats.divergences += 1
        self._last_divergence_ns = stamp_ns
        self._reinitialize(stamp_ns, xy, cov, reason, keep_motion=False)

    def _reinitialize(
        self, stamp_ns: int, xy: np.ndarray, cov: np.ndarray, reason: str, keep_motion: bool
    ) -> None:
        """New positions from ``N(xy, cov)``; speed and yaw kept (resampled) if ``keep_motion``."""
        old = self._particles
        new = self._initial_particles(xy, cov)
        if keep_motion and old is not None:
            idx = systematic_resample(old.weights(), self._rng)
            new.speed_mps, new.yaw_rad = old.speed_mps[idx], old.yaw_rad[idx]
            new.yaw_rate_radps = old.yaw_rate_radps[idx]
        self._particles = new
        self._stamp_ns = max(self._stamp_ns, stamp_ns)
        self._monitor.reset()
        self._count_reinit(reason)

    def _initial_particles(self, xy: np.ndarray, cov: np.ndarray) -> Particles:
        cfg = self.config
        return initial_particles(
            xy,
            cov,
            cfg.num_particles,
            cfg.init_speed_max_mps,
            cfg.init_yaw_rate_std_radps,
            self._rng,
        )

    def _count_reinit(self, reason: str) -> None:
        self.stats.reinitializations += 1
        self.stats.last_reinit_reason = reason
        self._throttle.warn('reinit:' + reason, 'particle filter re-initialised: %s', reason)


def _position(xy_enu_m: np.ndarray) -> np.ndarray | None:
    """``(2,)`` float64 ENU position, or None if it is not finite or absurdly far away."""
    try:
        xy = np.asarray(xy_enu_m, np.float64).reshape(-1)
    except (TypeError, ValueError):
        return None
    if xy.shape != (2,) or not np.all(np.isfinite(xy)) or np.max(np.abs(xy)) > _MAX_ABS_ENU_M:
        return None
    return xy
