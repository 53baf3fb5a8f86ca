"""``ParticleFilter``: GNSS, odometry, heading and cross-view grid beliefs fused in one cloud.

Starts from paper 004 section III-D (state east, north, forward speed, yaw; 2000 particles;
Gaussian GNSS term; gate ``3 sigma + v dt``) and improves on it: weights in log space, resampling
only when the effective sample size drops, a robust GNSS model (a per-particle mixture
likelihood; the paper's gate stays as ``gnss_model='paper_gate'``), optional odometry in the
prediction, late and out-of-order measurements fused at their stamps through each particle's
own recent past (``history.py``), divergence detection, typed results (``results.py``) and a
weighted-mean estimate with covariance. Frames: ENU metres of the localizer's map frame,
REP-103 yaw; stamps integer nanoseconds. State, clock and weights live in ``core.py``.
"""

from __future__ import annotations

import math

import numpy as np

from cvseq_localizer.filter import clock
from cvseq_localizer.filter import results as R
from cvseq_localizer.filter.core import FilterCore
from cvseq_localizer.filter.gnss import max_sigma_m, sanitize_cov
from cvseq_localizer.filter.gnss_update import apply_fix
from cvseq_localizer.filter.grid import grid_log_likelihood, validate_grid
from cvseq_localizer.filter.heading import heading_log_likelihood
from cvseq_localizer.filter.motion import apply_odometry
from cvseq_localizer.filter.particles import spread_along_bias
from cvseq_localizer.filter.results import FilterHealth, UpdateResult
from cvseq_localizer.filter.summary import weighted_mean_xy
from cvseq_localizer.filter.validate import (
    MAX_ABS_ENU_M,
    cov_problem,
    odometry_problem,
    position,
)

CLOCK_JUMP = R.CLOCK_JUMP


class ParticleFilter(FilterCore):
    """Particle filter over ``(east, north, speed, yaw, yaw rate, GNSS bias)`` in ENU.

    Every input returns an :class:`UpdateResult`. A stamp at or after the filter time predicts
    to it; a stamp up to ``history_s`` behind is fused at that stamp (no reset); older stamps
    are ignored up to ``clock_jump_s`` and reset the filter beyond (the clock jumped back).
    """

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

    def gnss_heading(self, stamp_ns: int, max_age_s: float) -> tuple[float, float] | None:
        """``(yaw rad, std rad)`` of the GNSS fix track (robust model) when its last fix is at
        most ``max_age_s`` older than ``stamp_ns`` and it moves faster than
        ``motion_check_min_speed_mps``; else None."""
        if max_age_s <= 0 or self._particles is None:
            return None
        heading = self._fix_track.heading(self.config.motion_check_min_speed_mps)
        if heading is None or (int(stamp_ns) - heading[2]) * 1e-9 > max_age_s:
            return None
        return heading[0], heading[1]

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

    def update_gnss(
        self, stamp_ns: int, xy_enu_m: np.ndarray, cov_xy_m2: np.ndarray | None
    ) -> UpdateResult:
        """Fuse a GNSS fix ``(2,)`` ENU m with covariance ``(2, 2)`` m^2 (``None``: unknown,
        fallback sigma). The first usable fix (or the first after a reset) initialises."""
        self._events = []
        stamp_ns = int(stamp_ns)
        xy = position(xy_enu_m)
        problem = 'unusable position' if xy is None else cov_problem(cov_xy_m2, self.config)
        if problem:
            self.stats.fixes_ignored += 1
            self._throttle.warn('fix', 'ignoring GNSS fix: %s', problem)
            return self._result(R.IGNORED, R.BAD_VALUE)
        cov = sanitize_cov(cov_xy_m2, self.config)
        if self._particles is not None:
            timing, past = self._arrive(stamp_ns, 'gnss')
            if self._particles is not None and timing not in (clock.FRESH, clock.LATE):
                self.stats.fixes_ignored += 1
                return self._result(R.IGNORED, self._timing_reason(timing))
        self._fix_seen_ns = max(stamp_ns, self._fix_seen_ns or stamp_ns)
        if self._particles is None:
            self.initialize(stamp_ns, xy, cov)
            self._fix_track.add(stamp_ns, xy, max_sigma_m(cov))  # reset() emptied it
            self._recent.seen('gnss', stamp_ns)
            self.stats.fixes_accepted += 1
            return self._result(R.USED)
        lag_s = 0.0 if past is None else (self._stamp_ns - stamp_ns) * 1e-9
        self.stats.fixes_late += int(past is not None)
        status, reason, inlier = apply_fix(self, stamp_ns, xy, cov, past)
        return self._result(status, reason, lag_s, inlier)

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
        cfg = self.config
        peak = points[int(np.argmax(p))]
        in_dropout = self._fix_silence_s(stamp_ns) > cfg.diverge_floor_max_fix_age_s
        if past is None and in_dropout and self._peak_far(peak):
            self.stats.grids_rejected += 1
            return self._result(R.REJECTED, R.GRID_FAR)
        if past is None and cfg.grid_respread_bias and cfg.gnss_bias_sigma_m > 0:
            last = self._respread_ns
            if (
                not in_dropout
                and self._gnss_only_at(stamp_ns)
                and (  # after GNSS alone
                    last is None or (stamp_ns - last) * 1e-9 > cfg.gnss_only_timeout_s
                )
            ):
                spread_along_bias(self._particles, cfg.gnss_bias_sigma_m, self._rng)
                self._respread_ns, self._est = stamp_ns, None
        xy = self._particles.xy_enu_m if past is None else past.xy_enu_m
        predicted = weighted_mean_xy(self._particles.weights(), xy)
        lik = grid_log_likelihood(xy, points, p, cell_size_m, self.config)
        if not self._reweight(lik.log_lik, 'grid'):
            self.stats.grids_ignored += 1
            return self._result(R.IGNORED, R.NON_FINITE)
        self.stats.grids_used += 1
        self._grid_innov.add(stamp_ns, peak - predicted, self.config)
        if lik.at_floor:
            self.stats.grid_floor_frames += 1
        else:
            self._last_grid_ns = max(stamp_ns, self._last_grid_ns or 0)
        reason = self._monitor.on_grid(lik.at_floor, self.config)
        if reason and self._fix_age_s(stamp_ns) <= self.config.diverge_floor_max_fix_age_s:
            self._diverge(reason, stamp_ns, *self._fallback_fix(stamp_ns))
        return self._result(R.USED, lag_s=self._lag_s(stamp_ns))

    def _fix_silence_s(self, stamp_ns: int) -> float:
        """Seconds since the newest fix of any kind (also one rejected as multipath): a
        dropout is silence, not disagreement. Kept across resets (the receiver did not stop)."""
        newest = self._fix_seen_ns
        return math.inf if newest is None else (stamp_ns - newest) * 1e-9

    def _peak_far(self, peak_enu_m: np.ndarray) -> bool:
        """The network's peak is too far from the estimate to be fused in a GNSS dropout
        (``FilterConfig.dropout_grid_gate_*``). A gated peak does not grow the covariance
        (its innovation term), which would widen the gate until the lost peaks pass."""
        cfg = self.config
        if cfg.dropout_grid_gate_sigmas <= 0:
            return False
        est = self.estimate()
        innovation = peak_enu_m - est.xy_enu_m
        limit = max(cfg.dropout_grid_gate_min_m,
                    cfg.dropout_grid_gate_sigmas * max_sigma_m(est.cov_xy_m2))  # fmt: skip
        return float(np.hypot(*innovation)) > limit

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

    def acquire_heading(self, stamp_ns: int, yaw_rad: float, yaw_var_rad2: float) -> UpdateResult:
        """A heading measured with no heading prior (the camera's acquisition while the cloud's
        heading is a guess): fused as :meth:`update_heading`; when almost none of the cloud lies
        near it (core share below 5 %), every particle's yaw is re-drawn from it instead
        (positions and speeds kept), since a reweighting cannot move a cloud it has no
        particles for (dev urban 367: a correct acquisition left the heading 97 deg off)."""
        result = self.update_heading(stamp_ns, yaw_rad, yaw_var_rad2)
        if result.used and result.inlier_prob < 0.05 and result.lag_s == 0.0:
            p = self._particles
            std = max(math.sqrt(yaw_var_rad2), self.config.heading_min_std_rad)
            p.yaw_rad = np.angle(np.exp(1j * (yaw_rad + std * self._rng.standard_normal(p.size))))
            self._est = None
            self.stats.motion_reseeds += 1
        return result
