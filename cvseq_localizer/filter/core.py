"""``FilterCore``: the particle filter's state, clock, weights and (re-)initialisation.

``ParticleFilter`` (``particle_filter.py``) adds the inputs on top. Stamps are integer
nanoseconds; a stamp is classified once (``clock.py``): at or after the filter time the
particles are predicted to it (with odometry while it is fresh); up to ``history_s`` behind,
the particles' own past states (``history.py``) are looked up; further back the input is ignored
or, beyond ``clock_jump_s``, the filter resets.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

import numpy as np

from cvseq_localizer.filter import clock
from cvseq_localizer.filter import results as R
from cvseq_localizer.filter.config import FilterConfig
from cvseq_localizer.filter.divergence import DivergenceMonitor
from cvseq_localizer.filter.estimates import extrapolated, past_estimate
from cvseq_localizer.filter.fix_track import FixTrack
from cvseq_localizer.filter.gnss import GnssGate, WhiteNoiseScale, sanitize_cov
from cvseq_localizer.filter.grid import GridInnovation
from cvseq_localizer.filter.heading import usable_heading
from cvseq_localizer.filter.history import ParticleHistory, PastState
from cvseq_localizer.filter.motion import propagate
from cvseq_localizer.filter.particles import Particles, initial_particles, wrap_angle
from cvseq_localizer.filter.resampling import (
    effective_sample_size,
    log_normalize,
    roughen,
    systematic_resample,
)
from cvseq_localizer.filter.results import FilterEvent, UpdateResult
from cvseq_localizer.filter.stats import FilterStats, WarnThrottle
from cvseq_localizer.filter.summary import summarize
from cvseq_localizer.filter.validate import position
from cvseq_localizer.types import Estimate

log = logging.getLogger(__name__)


class FilterCore:
    """State, timing and weights of the particle filter (see ``ParticleFilter``)."""

    def __init__(self, config: FilterConfig, rng: np.random.Generator) -> None:
        self.config = config
        self._rng = rng
        self.stats = FilterStats()
        self._throttle = WarnThrottle(log, config.warn_period_s)
        self._gate = GnssGate()
        self._fix_track = FixTrack(
            config.gnss_jump_min_m, config.gnss_jump_n_sigma, config.gnss_jump_confirm_s
        )
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
        self._respread_ns: int | None = None  # the last spread_along_bias
        self._last_divergence_ns: int | None = None
        self._motion_far_since_ns: int | None = None
        self._grid_innov = GridInnovation()
        self._last_fix: tuple[int, np.ndarray, np.ndarray] | None = None
        self._fix_seen_ns: int | None = None  # newest usable fix stamp, any verdict
        self._est: Estimate | None = None
        self._events: list[FilterEvent] = []

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

    def initialize(
        self,
        stamp_ns: int,
        xy_enu_m: np.ndarray,
        cov_xy_m2: np.ndarray,
        yaw_rad: float = math.nan,
        yaw_var_rad2: float = math.inf,
    ) -> None:
        """Spread particles around a fix ``xy_enu_m`` ``(2,)`` with covariance ``(2, 2)`` m^2.

        Yaw is uniform unless a heading is given (REP-103 rad, variance in (0, 1) rad^2: yaw
        then ~ N(yaw_rad, yaw_var_rad2)); speed uniform in ``[0, init_speed_max_mps]``. An
        unusable covariance falls back to ``gnss_fallback_sigma_m``.
        """
        xy = position(xy_enu_m)
        if xy is None:
            raise ValueError(f'cannot initialise from position {xy_enu_m!r}')
        cov = sanitize_cov(cov_xy_m2, self.config)
        particles = self._initial_particles(xy, cov)
        if usable_heading(yaw_rad, yaw_var_rad2):
            noise = self._rng.standard_normal(particles.size) * math.sqrt(yaw_var_rad2)
            particles.yaw_rad = wrap_angle(yaw_rad + noise)
        self._set_particles(int(stamp_ns), particles)
        self._stamp_ns = int(stamp_ns)
        self._gate.reset(xy, stamp_ns, float(np.sqrt(np.max(np.linalg.eigvalsh(cov)))))
        self._last_fix = (int(stamp_ns), xy, cov)
        self._last_grid_ns = self._respread_ns = None
        self._bias_cov_m2 = None
        self._track_bias_var(int(stamp_ns), cov)
        self._events.append(FilterEvent(R.INITIALIZED, 'first usable fix', int(stamp_ns)))
        log.info('particle filter initialised at (%.1f, %.1f) m', xy[0], xy[1])

    def reset(self) -> None:
        """Forget the particles, history and gate (counters in ``stats`` are kept)."""
        self._particles = None
        self._stamp_ns = 0
        self._gate.reset()
        self._fix_track.reset()
        self._monitor.reset()
        self._history.clear()
        self._recent.clear()
        self._odom = None
        self._last_grid_ns = self._respread_ns = None
        self._last_divergence_ns = None
        self._motion_far_since_ns = None
        self._grid_innov = GridInnovation()
        self._last_fix = None
        self._bias_cov_m2 = None
        self._white.reset()
        self._est = None

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

    def _gnss_only_at(self, stamp_ns: int) -> bool:
        """No informative grid frame within ``gnss_only_timeout_s`` before ``stamp_ns``."""
        return self._last_grid_ns is None or (
            (stamp_ns - self._last_grid_ns) * 1e-9 > self.config.gnss_only_timeout_s
        )

    def _flagged(self, est: Estimate) -> Estimate:
        cfg, now = self.config, self._stamp_ns
        gnss_only = self._gnss_only_at(now)
        diverged = self._last_divergence_ns is not None and (
            (now - self._last_divergence_ns) * 1e-9 <= cfg.diverged_hold_s
        )
        cov = est.cov_xy_m2
        if self._last_grid_ns is not None:
            # the cloud's position still comes from the network for a while after its last
            # informative frame (dev drive 313: 0.3 m std, 12 m off, 2 s after the engine
            # stopped): the network's error terms fade only after that, with the innovation
            # time constant
            idle_s = (now - self._last_grid_ns) * 1e-9 - cfg.gnss_only_timeout_s
            fade = math.exp(-max(idle_s, 0.0) / cfg.grid_innovation_tau_s)
            cov = cov + fade * np.eye(2) * cfg.grid_cov_floor_m**2
            cov = cov + fade * cfg.grid_innovation_cov_weight * self._grid_innov.cov_m2
        if gnss_only and self._bias_cov_m2 is not None:
            # add the bias the cloud does not already cover (none right after initialisation
            # or a long dropout, all of it once the cloud has shrunk onto the smoothed fixes)
            cover = float(np.trace(cov)) / max(float(np.trace(self._bias_cov_m2)), 1e-12)
            cov = cov + max(0.0, 1.0 - cover) * self._bias_cov_m2
        return replace(est, cov_xy_m2=cov, gnss_only=bool(gnss_only), diverged=bool(diverged))

    def _track_bias_var(self, stamp_ns: int, cov_m2: np.ndarray) -> None:
        """Running mean (time constant ``gnss_bias_tau_s``) of the bias part of the reported
        fix variance: what a GNSS-only estimate cannot remove, added to its covariance."""
        cfg = self.config
        if cfg.gnss_model != 'robust' or not cfg.gnss_bias_in_cov or cfg.gnss_bias_sigma_m > 0:
            return
        bias = cov_m2 * cfg.gnss_bias_cov_fraction
        if self._bias_cov_m2 is None:
            self._bias_cov_m2 = bias
            return
        alpha = min(1.0 / (cfg.gnss_bias_tau_s * 10.0), 1.0)  # per fix, ~10 Hz receivers
        self._bias_cov_m2 = self._bias_cov_m2 + alpha * (bias - self._bias_cov_m2)

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

    def _fix_age_s(self, stamp_ns: int) -> float:
        """Seconds since the last good fix (inf without one)."""
        if self._last_fix is None:
            return math.inf
        return (int(stamp_ns) - self._last_fix[0]) * 1e-9

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
        """New positions from a fix (``xy``, ``cov``); speed and yaw kept if ``keep_motion``,
        else drawn from the GNSS fix track's velocity when it has one (a wrong cloud's motion
        is what made it diverge; an unknown heading lets the next outlier capture it)."""
        old = self._particles
        new = self._initial_particles(xy, cov)
        velocity = None if keep_motion else self._fix_track.velocity()
        if velocity is not None:
            seed_motion(new, *velocity, self._rng)
        if keep_motion and old is not None:
            idx = systematic_resample(old.weights(), self._rng)
            new.speed_mps, new.yaw_rad = old.speed_mps[idx], old.yaw_rad[idx]
            new.yaw_rate_radps = old.yaw_rate_radps[idx]
            new.odom_scale, new.gyro_bias_radps = old.odom_scale[idx], old.gyro_bias_radps[idx]
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
                                 cfg.gnss_bias_sigma_m if robust else 0.0,
                                 cfg.odom_scale_sigma, cfg.odom_gyro_bias_sigma_radps)  # fmt: skip

    def _count_reinit(self, reason: str) -> None:
        self.stats.reinitializations += 1
        self.stats.last_reinit_reason = reason
        self._throttle.warn('reinit:' + reason, 'particle filter re-initialised: %s', reason)


def seed_motion(
    p: Particles, velocity_enu_mps: np.ndarray, cov_mps2: np.ndarray, rng: np.random.Generator
) -> None:
    """Speed and yaw of every particle from a velocity ``N(v, cov + (0.5 m/s)^2 I)`` (ENU):
    a sharp heading when moving, a spread one near standstill."""
    cov = cov_mps2 + np.eye(2) * 0.25
    v = velocity_enu_mps[None, :] + rng.standard_normal((p.size, 2)) @ np.linalg.cholesky(cov).T
    p.speed_mps = np.hypot(v[:, 0], v[:, 1])
    p.yaw_rad = np.arctan2(v[:, 1], v[:, 0])


def white_cov(cov_m2: np.ndarray, config: FilterConfig) -> np.ndarray:
    """The fix-to-fix (white) part of a reported fix covariance, floored at the min sigma."""
    white = cov_m2 * config.gnss_white_fraction**2
    vals, vecs = np.linalg.eigh(white)
    vals = np.maximum(vals, config.gnss_min_sigma_m**2)
    return (vecs * vals) @ vecs.T
