"""``ParticleFilter``: GNSS, odometry, heading and cross-view grid beliefs fused in one cloud.

Starts from paper 004 section III-D (state east, north, forward speed, yaw; 2000 particles;
Gaussian GNSS term; gate ``3 sigma + v dt``) and improves on it: weights in log space, resampling
only when the effective sample size drops, a robust GNSS model (per-particle receiver bias and
a mixture likelihood; the paper's gate stays as ``gnss_model='paper_gate'``), optional odometry
in the prediction, late and out-of-order measurements fused at their stamps through each
particle's own recent past (``history.py``), divergence detection, typed results and a
weighted-mean estimate with covariance. Frames: ENU metres of the localizer's map frame,
REP-103 yaw; stamps integer nanoseconds.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from cvseq_localizer.filter import clock
from cvseq_localizer.filter import results as R
from cvseq_localizer.filter.config import FilterConfig
from cvseq_localizer.filter.divergence import DivergenceMonitor
from cvseq_localizer.filter.estimates import extrapolated, past_estimate
from cvseq_localizer.filter.gnss import GnssGate, WhiteNoiseScale, sanitize_cov
from cvseq_localizer.filter.gnss_update import apply_fix
from cvseq_localizer.filter.grid import grid_log_likelihood, validate_grid
from cvseq_localizer.filter.heading import heading_log_likelihood
from cvseq_localizer.filter.history import ParticleHistory, PastState
from cvseq_localizer.filter.motion import apply_odometry, propagate
from cvseq_localizer.filter.particles import Particles, initial_particles
from cvseq_localizer.filter.resampling import (
    effective_sample_size,
    log_normalize,
    roughen,
    systematic_resample,
)
from cvseq_localizer.filter.results import FilterEvent, FilterHealth, UpdateResult
from cvseq_localizer.filter.stats import FilterStats, WarnThrottle
from cvseq_localizer.filter.summary import summarize
from cvseq_localizer.filter.validate import MAX_ABS_ENU_M, odometry_problem, position
from cvseq_localizer.types import Estimate

log = logging.getLogger(__name__)

CLOCK_JUMP = R.CLOCK_JUMP


class ParticleFilter:
    """Particle filter over ``(east, north, speed, yaw, yaw rate, GNSS bias)`` in ENU.

    Every input returns an :class:`UpdateResult`. A stamp at or after the filter time predicts
    to it; a stamp up to ``history_s`` behind is fused at that stamp (no reset); older stamps
    are ignored up to ``clock_jump_s`` and reset the filter beyond (the clock jumped back).
    """

    def __init__(self, config: FilterConfig, rng: np.random.Generator) -> None:
        self.config = config
        self._rng = rng
        self.stats = FilterStats()
        self._throttle = WarnThrottle(log, config.warn_period_s)
        self._gate = GnssGate()
        self._white = WhiteNoiseScale()
        self._bias_cov_m2: np.ndarray | None = None  # the receiver's unobservable bias, m^2
        self._monitor = DivergenceMonitor()
        self._history = ParticleHistory(int(config.history_s * 1e9))
        self._clock = clock.StampClock()
        self._recent = clock.RecentStamps(int(config.history_s * 1e9))
        self._particles: Particles | None = None
        self._stamp_ns = 0
        self._odom: tuple[int, float, float, float, float] | None = None
        self._last_grid_ns: int | None = None
        self._last_divergence_ns: int | None = None
        self._last_fix: tuple[int, np.ndarray, np.ndarray] | None = None
        self._est: Estimate | None = None
        self._events: list[FilterEvent] = []

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
        """Spread particles around a fix ``xy_enu_m`` ``(2,)`` with covariance ``(2, 2)`` m^2.

        Yaw is uniform and speed uniform in ``[0, init_speed_max_mps]``. An unusable covariance
        falls back to ``gnss_fallback_sigma_m``.
        """
        xy = position(xy_enu_m)
        if xy is None:
            raise ValueError(f'cannot initialise from position {xy_enu_m!r}')
        cov = sanitize_cov(cov_xy_m2, self.config)
        self._set_particles(int(stamp_ns), self._initial_particles(xy, cov))
        self._stamp_ns = int(stamp_ns)
        self._gate.reset(xy, stamp_ns, float(np.sqrt(np.max(np.linalg.eigvalsh(cov)))))
        self._last_fix = (int(stamp_ns), xy, cov)
        self._last_grid_ns = None
        self._bias_cov_m2 = None
        self._track_bias_var(int(stamp_ns), cov)
        self._events.append(FilterEvent(R.INITIALIZED, 'first usable fix', int(stamp_ns)))
        log.info('particle filter initialised at (%.1f, %.1f) m', xy[0], xy[1])

    def reset(self) -> None:
        """Forget the particles, history and gate (counters in ``stats`` are kept)."""
        self._particles = None
        self._stamp_ns = 0
        self._gate.reset()
        self._monitor.reset()
        self._history.clear()
        self._recent.clear()
        self._odom = None
        self._last_grid_ns = None
        self._last_divergence_ns = None
        self._last_fix = None
        self._bias_cov_m2 = None
        self._white.reset()
        self._est = None

    def health(self) -> FilterHealth:
        """A frozen snapshot of the counters and state, for diagnostics."""
        s, p = self.stats, self._particles
        oldest = self._history.oldest_ns
        return FilterHealth(
            initialized=p is not None,
            stamp_ns=self._stamp_ns,
            num_particles=0 if p is None else p.size,
            ess=float('nan') if p is None else self.estimate().ess,
            history_span_s=0.0 if oldest is None else (self._stamp_ns - oldest) * 1e-9,
            odometry_active=self._odometry_active(self._stamp_ns),
            gnss_model=self.config.gnss_model,
            fixes_used=s.fixes_accepted,
            fixes_rejected=s.fixes_rejected,
            fixes_ignored=s.fixes_ignored,
            fixes_late=s.fixes_late,
            grids_used=s.grids_used,
            grids_ignored=s.grids_ignored,
            odometry_used=s.odometry_used,
            odometry_ignored=s.odometry_ignored,
            headings_used=s.headings_used,
            headings_ignored=s.headings_ignored,
            resamples=s.resamples,
            reinitializations=s.reinitializations,
            divergences=s.divergences,
            clock_resets=s.clock_resets,
            too_late=s.too_late,
            future_stamps=s.future_stamps,
            duplicates=s.duplicates,
            last_reinit_reason=s.last_reinit_reason,
        )

    # --------------------------------------------------------------------------------- timing
    def predict(self, stamp_ns: int) -> UpdateResult:
        """Move the particles to ``stamp_ns`` (no motion before initialisation or for a stamp
        behind the filter time; a clock jump resets)."""
        self._events = []
        if self._particles is None:
            return self._result(R.IGNORED, R.NOT_INITIALIZED)
        timing, _ = self._arrive(int(stamp_ns), 'predict', check_duplicate=False)
        if timing in (clock.FRESH, clock.LATE):
            return self._result(R.USED)
        return self._result(R.IGNORED, self._timing_reason(timing))

    def _arrive(
        self, stamp_ns: int, kind: str, check_duplicate: bool = True
    ) -> tuple[str, PastState | None]:
        """Classify a stamp and bring the filter there: predict (fresh) or look up the
        particles' past (late). Counts and warns; resets on clock jumps."""
        timing = self._clock.classify(stamp_ns, self._stamp_ns, self.config)
        if timing in (clock.JUMP_BACK, clock.JUMP_FORWARD):
            why = R.CLOCK_JUMP if timing == clock.JUMP_BACK else R.CLOCK_JUMP_FORWARD
            self._throttle.warn('clock', '%s by %.3f s: resetting', why,
                                (stamp_ns - self._stamp_ns) * 1e-9)  # fmt: skip
            self.reset()
            self.stats.clock_resets += 1
            self._count_reinit(why)
            self._events.append(FilterEvent(R.RESET, why, stamp_ns))
            return timing, None
        if timing in (clock.FUTURE, clock.TOO_LATE):
            counter = 'future_stamps' if timing == clock.FUTURE else 'too_late'
            setattr(self.stats, counter, getattr(self.stats, counter) + 1)
            self._throttle.warn('stamp:' + timing, 'ignoring %s stamped %.3f s from filter time',
                                kind, (stamp_ns - self._stamp_ns) * 1e-9)  # fmt: skip
            return timing, None
        if check_duplicate and self._recent.seen(kind, stamp_ns):
            self.stats.duplicates += 1
            self._throttle.warn('dup:' + kind, 'ignoring %s with a duplicated stamp', kind)
            return 'duplicate', None
        if timing == clock.FRESH:
            self._advance(stamp_ns)
            return timing, None
        past = self._history.state_at(stamp_ns, self._stamp_ns, self._particles)
        if past is None:
            self.stats.too_late += 1
            return clock.TOO_LATE, None
        return timing, past

    @staticmethod
    def _timing_reason(timing: str) -> str:
        return {
            clock.FUTURE: R.FUTURE,
            clock.TOO_LATE: R.TOO_LATE,
            clock.JUMP_BACK: R.CLOCK_JUMP,
            clock.JUMP_FORWARD: R.CLOCK_JUMP_FORWARD,
            'duplicate': R.DUPLICATE,
        }.get(timing, timing)

    def _advance(self, stamp_ns: int) -> None:
        """Predict to ``stamp_ns`` (after the filter time), with odometry while it is fresh."""
        dt_ns = stamp_ns - self._stamp_ns
        if dt_ns <= 0:
            return
        if dt_ns * 1e-9 > self.config.max_gap_s:
            self._throttle.warn('gap', 'gap of %.1f s: motion capped at max_gap_s', dt_ns * 1e-9)
        split_ns = self._stamp_ns  # odometry drives the prediction up to here
        if self._odom is not None:
            odom_end_ns = self._odom[0] + int(self.config.odom_timeout_s * 1e9)
            split_ns = min(max(odom_end_ns, self._stamp_ns), stamp_ns)
        if split_ns > self._stamp_ns:
            propagate(self._particles, (split_ns - self._stamp_ns) * 1e-9, self.config,
                      self._rng, odometry=True)  # fmt: skip
        if stamp_ns > split_ns:
            propagate(self._particles, (stamp_ns - split_ns) * 1e-9, self.config, self._rng)
        self._stamp_ns = stamp_ns
        self._history.push(stamp_ns, self._particles)
        self._est = None

    def _odometry_active(self, stamp_ns: int) -> bool:
        return self._odom is not None and (
            (stamp_ns - self._odom[0]) * 1e-9 <= self.config.odom_timeout_s
        )

    # ----------------------------------------------------------------------------------- GNSS
    def update_gnss(
        self, stamp_ns: int, xy_enu_m: np.ndarray, cov_xy_m2: np.ndarray | None
    ) -> UpdateResult:
        """Fuse a GNSS fix ``(2,)`` ENU m with covariance ``(2, 2)`` m^2 (``None``: unknown,
        fallback sigma). The first usable fix (or the first after a reset) initialises."""
        self._events = []
        stamp_ns = int(stamp_ns)
        xy = position(xy_enu_m)
        if xy is None:
            self.stats.fixes_ignored += 1
            self._throttle.warn('fix', 'ignoring GNSS fix with unusable position %r', xy_enu_m)
            return self._result(R.IGNORED, R.BAD_VALUE)
        cov = sanitize_cov(cov_xy_m2, self.config)
        if self._particles is not None:
            timing, past = self._arrive(stamp_ns, 'gnss')
            if self._particles is not None and timing not in (clock.FRESH, clock.LATE):
                self.stats.fixes_ignored += 1
                return self._result(R.IGNORED, self._timing_reason(timing))
        if self._particles is None:
            self.initialize(stamp_ns, xy, cov)
            self._recent.seen('gnss', stamp_ns)
            self.stats.fixes_accepted += 1
            return self._result(R.USED)
        lag_s = 0.0 if past is None else (self._stamp_ns - stamp_ns) * 1e-9
        self.stats.fixes_late += int(past is not None)
        status, reason, inlier = apply_fix(self, stamp_ns, xy, cov, past)
        return self._result(status, reason, lag_s, inlier)

    # ----------------------------------------------------------------------------------- grid
    def update_grid(
        self, stamp_ns: int, points_enu_m: np.ndarray, probs: np.ndarray, cell_size_m: float
    ) -> UpdateResult:
        """Weight the particles by the network's grid belief at ``stamp_ns``.

        ``points_enu_m`` ``(K, 2)`` refined cell positions (ENU m), ``probs`` ``(K,)`` their
        probabilities, ``cell_size_m`` the cell edge (m). Invalid input (NaN, all zero, wrong
        shapes) is ignored with a rate-limited warning and counted.
        """
        self._events = []
        stamp_ns = int(stamp_ns)
        points = np.asarray(points_enu_m, np.float64)
        p = np.asarray(probs, np.float64).reshape(-1)
        problem = validate_grid(points, p, float(cell_size_m))
        if not problem and np.max(np.abs(points)) > MAX_ABS_ENU_M:
            problem = 'points outside the local map frame'
        if problem:
            self._throttle.warn('grid', 'ignoring grid frame: %s', problem)
        if problem or self._particles is None:
            self.stats.grids_ignored += 1
            return self._result(R.IGNORED, R.BAD_VALUE if problem else R.NOT_INITIALIZED)
        timing, past = self._arrive(stamp_ns, 'grid')
        if timing not in (clock.FRESH, clock.LATE):
            self.stats.grids_ignored += 1
            return self._result(R.IGNORED, self._timing_reason(timing))
        xy = self._particles.xy_enu_m if past is None else past.xy_enu_m
        lik = grid_log_likelihood(xy, points, p, cell_size_m, self.config)
        if not self._reweight(lik.log_lik, 'grid'):
            self.stats.grids_ignored += 1
            return self._result(R.IGNORED, R.NON_FINITE)
        self.stats.grids_used += 1
        if lik.at_floor:
            self.stats.grid_floor_frames += 1
        else:
            self._last_grid_ns = max(stamp_ns, self._last_grid_ns or 0)
        reason = self._monitor.on_grid(lik.at_floor, self.config)
        if reason:
            self._diverge(reason, stamp_ns, *self._fallback_fix(stamp_ns))
        return self._result(R.USED, lag_s=self._lag_s(stamp_ns))

    # ------------------------------------------------------------------------------- odometry
    def update_odometry(
        self,
        stamp_ns: int,
        speed_mps: float,
        yaw_rate_radps: float,
        speed_var_m2ps2: float | None = None,
        yaw_rate_var_rad2ps2: float | None = None,
    ) -> UpdateResult:
        """Wheel speed (signed, m/s, forward positive) and yaw rate (rad/s, counter-clockwise)
        with their variances; drives the prediction for ``odom_timeout_s`` after its stamp.

        A late sample (inside the history) is applied as the current control; samples older
        than the last one, NaN or absurd values are ignored and counted.
        """
        self._events = []
        stamp_ns, cfg = int(stamp_ns), self.config
        problem = odometry_problem(speed_mps, yaw_rate_radps, speed_var_m2ps2,
                                   yaw_rate_var_rad2ps2, cfg)  # fmt: skip
        if not problem and self._odom is not None and stamp_ns <= self._odom[0]:
            problem = R.DUPLICATE
            self.stats.duplicates += 1
        if problem or self._particles is None:
            self.stats.odometry_ignored += 1
            if problem:
                self._throttle.warn('odom', 'ignoring odometry: %s', problem)
            return self._result(R.IGNORED, problem or R.NOT_INITIALIZED)
        timing, _ = self._arrive(stamp_ns, 'odom', check_duplicate=False)
        if timing not in (clock.FRESH, clock.LATE):
            self.stats.odometry_ignored += 1
            return self._result(R.IGNORED, self._timing_reason(timing))
        sv = max(float(np.sqrt(speed_var_m2ps2 or 0.0)), cfg.odom_min_speed_std_mps)
        sw = max(float(np.sqrt(yaw_rate_var_rad2ps2 or 0.0)), cfg.odom_min_yaw_rate_std_radps)
        self._odom = (stamp_ns, float(speed_mps), float(yaw_rate_radps), sv, sw)
        apply_odometry(self._particles, float(speed_mps), float(yaw_rate_radps), sv, sw,
                       self._rng)  # fmt: skip
        self._est = None
        self.stats.odometry_used += 1
        return self._result(R.USED, lag_s=self._lag_s(stamp_ns))

    # -------------------------------------------------------------------------------- heading
    def update_heading(self, stamp_ns: int, yaw_rad: float, yaw_var_rad2: float) -> UpdateResult:
        """Fuse a heading measurement (REP-103 yaw in the map frame, rad; variance rad^2),
        e.g. the network's heading output. A robust mixture: outliers barely move the cloud."""
        self._events = []
        stamp_ns, cfg = int(stamp_ns), self.config
        ok = np.isfinite(yaw_rad) and np.isfinite(yaw_var_rad2) and 0.0 <= yaw_var_rad2 < 10.0
        if not ok or self._particles is None:
            self.stats.headings_ignored += 1
            if not ok:
                self._throttle.warn('heading', 'ignoring heading %r var %r', yaw_rad, yaw_var_rad2)
            return self._result(R.IGNORED, R.BAD_VALUE if not ok else R.NOT_INITIALIZED)
        timing, past = self._arrive(stamp_ns, 'heading')
        if timing not in (clock.FRESH, clock.LATE):
            self.stats.headings_ignored += 1
            return self._result(R.IGNORED, self._timing_reason(timing))
        yaw = self._particles.yaw_rad if past is None else past.yaw_rad
        std = max(float(np.sqrt(yaw_var_rad2)), cfg.heading_min_std_rad)
        log_lik, core = heading_log_likelihood(yaw, float(yaw_rad), std,
                                               cfg.heading_outlier_weight)  # fmt: skip
        inlier = float(np.sum(self._particles.weights() * core))
        if not self._reweight(log_lik, 'heading'):
            self.stats.headings_ignored += 1
            return self._result(R.IGNORED, R.NON_FINITE)
        self.stats.headings_used += 1
        return self._result(R.USED, lag_s=self._lag_s(stamp_ns), inlier_prob=inlier)

    # ------------------------------------------------------------------------------- estimate
    def estimate(self) -> Estimate:
        """The weighted estimate at the filter time (computed once per change of the particle
        set; raises before initialisation). ``gnss_only`` is set when no informative grid frame
        was used within ``gnss_only_timeout_s``; ``diverged`` within ``diverged_hold_s`` of a
        divergence."""
        if self._particles is None:
            raise RuntimeError('ParticleFilter.estimate() before initialisation')
        if self._est is None:
            self._est = self._flagged(summarize(self._particles, self._stamp_ns))
        return self._est

    def estimate_at(self, stamp_ns: int) -> Estimate:
        """The estimate at ``stamp_ns``: from the particles' own past inside the history
        (smoothed by every measurement since), extrapolated along each particle's motion ahead
        of the filter time (covariance grown by the process noise), else the current one."""
        est = self.estimate()
        stamp_ns = int(stamp_ns)
        if stamp_ns == self._stamp_ns:
            return est
        if stamp_ns > self._stamp_ns:
            return self._flagged(extrapolated(self._particles, stamp_ns, self._stamp_ns,
                                              self.config))  # fmt: skip
        past = self._history.state_at(stamp_ns, self._stamp_ns, self._particles)
        if past is None:
            return est
        return self._flagged(past_estimate(self._particles, past, stamp_ns))

    def _flagged(self, est: Estimate) -> Estimate:
        cfg, now = self.config, self._stamp_ns
        gnss_only = self._last_grid_ns is None or (
            (now - self._last_grid_ns) * 1e-9 > cfg.gnss_only_timeout_s
        )
        diverged = self._last_divergence_ns is not None and (
            (now - self._last_divergence_ns) * 1e-9 <= cfg.diverged_hold_s
        )
        cov = est.cov_xy_m2
        if gnss_only and self._bias_cov_m2 is not None:
            cov = cov + self._bias_cov_m2
        return replace(est, cov_xy_m2=cov, gnss_only=bool(gnss_only), diverged=bool(diverged))

    def _track_bias_var(self, stamp_ns: int, cov_m2: np.ndarray) -> None:
        """Running mean (time constant ``gnss_bias_tau_s``) of the bias part of the reported
        fix variance: what a GNSS-only estimate cannot remove, added to its covariance."""
        cfg = self.config
        if cfg.gnss_model != 'robust' or not cfg.gnss_bias_in_cov or cfg.gnss_bias_sigma_m > 0:
            return
        bias = cov_m2 * (1.0 - cfg.gnss_white_fraction**2)
        if self._bias_cov_m2 is None:
            self._bias_cov_m2 = bias
            return
        alpha = min(1.0 / (cfg.gnss_bias_tau_s * 10.0), 1.0)  # per fix, ~10 Hz receivers
        self._bias_cov_m2 = self._bias_cov_m2 + alpha * (bias - self._bias_cov_m2)

    # ------------------------------------------------------------------------------ internals
    def _result(
        self, status: str, reason: str = '', lag_s: float = 0.0, inlier_prob: float = np.nan
    ) -> UpdateResult:
        return UpdateResult(status, reason, tuple(self._events), float(lag_s), float(inlier_prob))

    def _lag_s(self, stamp_ns: int) -> float:
        return max(self._stamp_ns - stamp_ns, 0) * 1e-9

    def _reweight(self, log_lik: np.ndarray, source: str) -> bool:
        """Add a log-likelihood; resample when the ESS is low. False if it was not finite."""
        log_w = self._particles.log_w + log_lik
        if not np.all(np.isfinite(log_w)):
            self._throttle.warn('weights', 'non-finite %s likelihood: update dropped', source)
            return False
        self._particles.log_w = log_normalize(log_w)
        self._est = None
        m, cfg = self._particles.size, self.config
        if effective_sample_size(self._particles.log_w) < cfg.resample_ess_ratio * m:
            idx = systematic_resample(self._particles.weights(), self._rng)
            self._particles = self._particles.take(idx)
            self._history.on_resample(idx)
            roughen(self._particles, cfg.roughen_xy_m, cfg.roughen_speed_mps,
                    cfg.roughen_yaw_rad, self._rng)  # fmt: skip
            self.stats.resamples += 1
        return True

    def _fallback_fix(self, stamp_ns: int) -> tuple[np.ndarray, np.ndarray]:
        """Where to re-initialise without a new fix: the last good fix, its covariance grown
        by the distance driven since (ENU m, m^2); the estimate if there was no fix."""
        s = self.estimate()
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
        """New positions from a fix (``xy``, ``cov``); speed and yaw kept if ``keep_motion``."""
        old = self._particles
        new = self._initial_particles(xy, cov)
        if keep_motion and old is not None:
            idx = systematic_resample(old.weights(), self._rng)
            new.speed_mps, new.yaw_rad = old.speed_mps[idx], old.yaw_rad[idx]
            new.yaw_rate_radps = old.yaw_rate_radps[idx]
        self._stamp_ns = max(self._stamp_ns, stamp_ns)
        self._set_particles(self._stamp_ns, new)
        self._monitor.reset()
        self._count_reinit(reason)
        self._events.append(FilterEvent(R.REINITIALIZED, reason, int(stamp_ns)))

    def _set_particles(self, stamp_ns: int, p: Particles) -> None:
        self._particles = p
        self._history.clear()
        self._history.push(stamp_ns, p)
        self._monitor.reset()
        self._est = None

    def _initial_particles(self, xy: np.ndarray, cov: np.ndarray) -> Particles:
        cfg = self.config
        robust = cfg.gnss_model == 'robust'
        white = white_cov(cov, cfg) if robust else cov
        return initial_particles(xy, white, cfg.num_particles, cfg.init_speed_max_mps,
                                 cfg.init_yaw_rate_std_radps, self._rng,
                                 cfg.gnss_bias_sigma_m if robust else 0.0)  # fmt: skip

    def _count_reinit(self, reason: str) -> None:
        self.stats.reinitializations += 1
        self.stats.last_reinit_reason = reason
        self._throttle.warn('reinit:' + reason, 'particle filter re-initialised: %s', reason)


def white_cov(cov_m2: np.ndarray, config: FilterConfig) -> np.ndarray:
    """The fix-to-fix (white) part of a reported fix covariance, floored at the min sigma."""
    white = cov_m2 * config.gnss_white_fraction**2
    vals, vecs = np.linalg.eigh(white)
    vals = np.maximum(vals, config.gnss_min_sigma_m**2)
    return (vecs * vals) @ vecs.T
