"""GNSS measurement models: covariance sanitising, the robust mixture likelihood (default) and
the paper's Gaussian likelihood behind its outlier gate."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cvseq_localizer.filter.config import FilterConfig

ACCEPT = 'accept'
REJECT = 'reject'
REANCHOR = 'reanchor'


def sanitize_cov(cov_xy_m2: np.ndarray | None, config: FilterConfig) -> np.ndarray:
    """A usable ``(2, 2)`` ENU position covariance (m^2) for a fix.

    ``None``, non-finite or wrongly shaped input gives the fallback sigma; otherwise the matrix
    is symmetrised and its standard deviations clamped to ``[gnss_min_sigma_m,
    gnss_max_sigma_m]`` (a zero or negative variance never collapses the particles).
    """
    fallback = np.eye(2) * config.gnss_fallback_sigma_m**2
    if cov_xy_m2 is None:
        return fallback
    cov = np.asarray(cov_xy_m2, np.float64)
    if cov.shape != (2, 2) or not np.all(np.isfinite(cov)):
        return fallback
    vals, vecs = np.linalg.eigh(0.5 * (cov + cov.T))
    if np.max(vals) <= 0.0:
        return fallback
    vals = np.clip(vals, config.gnss_min_sigma_m**2, config.gnss_max_sigma_m**2)
    return (vecs * vals) @ vecs.T


def gnss_log_likelihood(
    xy_enu_m: np.ndarray, fix_xy_enu_m: np.ndarray, cov_m2: np.ndarray
) -> np.ndarray:
    """``(M,)`` Gaussian log-likelihood (up to a constant) of particles ``(M, 2)`` for a fix."""
    d = xy_enu_m - fix_xy_enu_m[None, :]
    info = np.linalg.inv(cov_m2)
    maha = info[0, 0] * d[:, 0] ** 2 + 2.0 * info[0, 1] * d[:, 0] * d[:, 1]
    maha += info[1, 1] * d[:, 1] ** 2
    return -0.5 * maha


def robust_gnss_log_likelihood(
    predicted_fix_enu_m: np.ndarray,
    fix_xy_enu_m: np.ndarray,
    white_cov_m2: np.ndarray,
    outlier_weight: float,
    outlier_sigma_m: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-particle mixture likelihood of a fix and each particle's inlier probability.

    ``predicted_fix_enu_m`` ``(M, 2)`` is each particle's position plus its receiver bias (m);
    the fix is ``N(predicted, white_cov)`` with probability ``1 - outlier_weight`` and
    ``N(predicted, outlier_sigma^2 I)`` otherwise (multipath). Returns the ``(M,)``
    log-likelihood (normalised densities, so the two components compare) and the ``(M,)``
    posterior probability of the core component.
    """
    d = predicted_fix_enu_m - fix_xy_enu_m[None, :]
    info = np.linalg.inv(white_cov_m2)
    maha = info[0, 0] * d[:, 0] ** 2 + 2.0 * info[0, 1] * d[:, 0] * d[:, 1]
    maha += info[1, 1] * d[:, 1] ** 2
    log_core = -0.5 * maha - 0.5 * math.log(max(np.linalg.det(white_cov_m2), 1e-300))
    log_core += math.log(1.0 - outlier_weight)
    r2 = d[:, 0] ** 2 + d[:, 1] ** 2
    log_out = -0.5 * r2 / outlier_sigma_m**2 - 2.0 * math.log(outlier_sigma_m)
    log_out += math.log(outlier_weight)
    log_lik = np.logaddexp(log_core, log_out)
    return log_lik, np.exp(log_core - log_lik)


def max_sigma_m(cov_m2: np.ndarray) -> float:
    """Largest standard deviation of a ``(2, 2)`` covariance, m."""
    return math.sqrt(max(float(np.max(np.linalg.eigvalsh(cov_m2))), 0.0))


@dataclass
class GnssGate:
    """Outlier gate of paper III-D with re-anchoring on persistent, self-consistent jumps.

    A fix is rejected when it lies farther than ``gate_n_sigma * sigma + (v + margin) * dt``
    from the previous accepted fix, with ``sigma = hypot(sigma_fix, sigma_previous)`` (the
    spread of a difference of two fixes; the paper uses one sigma). Consecutive rejected fixes
    that agree with each other form a candidate track; once it holds at least
    ``reanchor_after_rejections`` fixes spanning ``reanchor_after_s`` seconds, the gate
    re-anchors (multipath episodes last a few seconds; a genuine jump persists).
    """

    ref_xy_enu_m: np.ndarray | None = None
    ref_stamp_ns: int = 0
    ref_sigma_m: float = 0.0
    cand_xy_enu_m: np.ndarray | None = None
    cand_stamp_ns: int = 0
    cand_count: int = 0
    cand_first_ns: int = 0

    def reset(
        self, xy_enu_m: np.ndarray | None = None, stamp_ns: int = 0, sigma_m: float = 0.0
    ) -> None:
        """Forget the history; optionally anchor on an accepted fix (ENU m, ns, std m)."""
        self.ref_xy_enu_m = None if xy_enu_m is None else np.array(xy_enu_m, np.float64)
        self.ref_stamp_ns = int(stamp_ns)
        self.ref_sigma_m = float(sigma_m)
        self.cand_xy_enu_m = None
        self.cand_count = 0

    def anchor(self, xy_enu_m: np.ndarray, stamp_ns: int, sigma_m: float) -> None:
        """Gate the next fix against this position (e.g. the filter's estimate), keeping the
        candidate track of rejected fixes."""
        self.ref_xy_enu_m = np.array(xy_enu_m, np.float64)
        self.ref_stamp_ns = int(stamp_ns)
        self.ref_sigma_m = float(sigma_m)

    def check(
        self,
        stamp_ns: int,
        xy_enu_m: np.ndarray,
        sigma_m: float,
        speed_mps: float,
        config: FilterConfig,
        accept_reach_mps: float | None = None,
    ) -> str:
        """Classify a fix as ``ACCEPT``, ``REJECT`` or ``REANCHOR`` and update the gate.

        A fix is accepted within ``gate_n_sigma * sigma + reach * dt`` of the reference, with
        ``reach = accept_reach_mps`` when given, else ``speed_mps + gate_speed_margin_mps``.
        Rejected fixes form a candidate track with the latter reach.
        """
        track_reach = speed_mps + config.gate_speed_margin_mps
        reach = track_reach if accept_reach_mps is None else accept_reach_mps
        ref_sigma_m = math.hypot(sigma_m, self.ref_sigma_m)
        if self.ref_xy_enu_m is None or _inside(
            self.ref_xy_enu_m,
            self.ref_stamp_ns,
            stamp_ns,
            xy_enu_m,
            ref_sigma_m,
            reach,
            config.gate_n_sigma,
        ):
            self.reset(xy_enu_m, stamp_ns, sigma_m)
            return ACCEPT
        consistent = self.cand_xy_enu_m is not None and _inside(
            self.cand_xy_enu_m,
            self.cand_stamp_ns,
            stamp_ns,
            xy_enu_m,
            ref_sigma_m,
            track_reach,
            config.gate_n_sigma,
        )
        self.cand_count = self.cand_count + 1 if consistent else 1
        if self.cand_count == 1:
            self.cand_first_ns = int(stamp_ns)
        self.cand_xy_enu_m = np.array(xy_enu_m, np.float64)
        self.cand_stamp_ns = int(stamp_ns)
        span_s = (int(stamp_ns) - self.cand_first_ns) * 1e-9
        if self.cand_count >= max(config.reanchor_after_rejections, 1) and (
            span_s >= config.reanchor_after_s
        ):
            self.reset(xy_enu_m, stamp_ns, sigma_m)
            return REANCHOR
        return REJECT


def _inside(
    ref_xy: np.ndarray,
    ref_stamp_ns: int,
    stamp_ns: int,
    xy: np.ndarray,
    sigma_m: float,
    reach_mps: float,
    n_sigma: float,
) -> bool:
    """Within ``n_sigma * sigma_m + reach_mps * dt`` of the reference position."""
    dt_s = max(stamp_ns - ref_stamp_ns, 0) * 1e-9
    radius_m = n_sigma * sigma_m + reach_mps * dt_s
    return float(np.hypot(*(np.asarray(xy) - ref_xy))) <= radius_m


@dataclass
class WhiteNoiseScale:
    """Online estimate of the receiver's fix-to-fix (white) noise, robust to multipath.

    The median innovation norm ``|fix - predicted mean|`` over the last ``window`` fixes gives
    the white std (for a 2-D Gaussian the median norm is ``sqrt(2 ln 2) sigma``); a few percent
    of multipath epochs do not move a median. The cloud's own spread is not subtracted: while the
    cloud is wide (start-up, after a dropout) the estimate errs large, i.e. permissive. Until
    ``min_count`` fixes are in, ``fraction * reported sigma`` is used. Hand-written: a rolling
    median over a short deque is a few lines, no library needed.
    """

    window: int = 50
    min_count: int = 5
    norms: list[float] | None = None

    def add(self, innovation_norm_m: float, predicted_var_m2: float) -> None:
        if self.norms is None:
            self.norms = []
        if math.isfinite(innovation_norm_m):
            self.norms.append(innovation_norm_m)
            del self.norms[: -self.window]

    def sigma_m(self, reported_sigma_m: float, fraction: float, min_sigma_m: float) -> float:
        """White std per axis, m, within ``[min_sigma_m, reported_sigma_m]``."""
        if self.norms is None or len(self.norms) < self.min_count:
            est = fraction * reported_sigma_m
        else:
            est = float(np.median(self.norms)) / math.sqrt(2.0 * math.log(2.0))
        return float(min(max(est, min_sigma_m), max(reported_sigma_m, min_sigma_m)))

    def reset(self) -> None:
        self.norms = None
