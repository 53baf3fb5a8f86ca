"""A GNSS error model with urban statistics: drifting bias, noise, multipath, dropouts.

Horizontal error = first-order Gauss-Markov bias (slow drift) + white noise + multipath episodes
(a 10-28 m jump held for a few seconds). Dropout episodes either publish ``NO_FIX`` or nothing.
The reported covariance follows a slowly varying, sometimes wrong scale and ignores multipath
(overconfident exactly when it matters). Defaults reproduce the raw-GPS error of the Oxford
RobotCar test traversals (seed 004, Table III: mean 4.60 m, median 3.95 m, p99 20.2 m).

Profiles (``gnss_profile(name)``; ``cvseq-sim --gnss-profile``). Horizontal error over 40 h at
1 Hz (seed 0; ``test_gnss_model.py`` checks them), total and the drifting bias alone:

============  =========================================  =============  ==============
profile       model                                      mean / p99 m   bias mean / p99
============  =========================================  =============  ==============
``open``      bias 1.5 m/axis, white 0.5 m, multipath    1.97 / 5.2     1.84 / 4.6
              5-12 m 1-3 s every 10 min, dropouts 1-3 s
              every 15 min
``default``   Oxford RobotCar: bias 3.1 m, white 1.0 m,  4.62 / 20.3    4.01 / 10.7
              multipath 10-28 m 1-6 s every 150 s,
              dropouts 1-8 s every 300 s
``urban``     bias 3.5 m, white 1.3 m, sky-view gain     7.74 / 33.7    5.50 / 14.9
              0.7-2.0, multipath 10-35 m 1-8 s every
              40 s (12.5 % of epochs), dropouts 2-20 s
              every 100 s (tunnels, underpasses)
============  =========================================  =============  ==============

``GnssSimulation`` exposes the error components (``bias_enu_m``: the slowly drifting bias alone,
``white_enu_m``, ``multipath_enu_m``) so a benchmark can report the floor no GNSS-only filter
can get below (the bias).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cvseq_localizer.geo import LocalFrame
from cvseq_localizer.train import metrics
from cvseq_localizer.types import (
    COVARIANCE_TYPE_DIAGONAL_KNOWN,
    COVARIANCE_TYPE_UNKNOWN,
    STATUS_FIX,
    STATUS_NO_FIX,
    GnssFix,
)


@dataclass(frozen=True)
class GnssErrorConfig:
    """Error model parameters (metres, seconds; horizontal sigmas are per axis)."""

    bias_sigma_m: float = 3.1  # steady-state std of the drifting bias, per axis
    bias_tau_s: float = 60.0  # correlation time of the bias
    white_sigma_m: float = 1.0  # white noise, per axis
    env_gain_range: tuple[float, float] = (0.6, 1.6)  # sky-view quality: scales bias + noise
    env_period_s: float = 60.0  # time over which the environment gain changes
    multipath_rate_hz: float = 1.0 / 150.0  # multipath episode starts per second
    multipath_duration_s: tuple[float, float] = (1.0, 6.0)
    multipath_m: tuple[float, float] = (10.0, 28.0)  # size of the jump (log-uniform)
    dropout_rate_hz: float = 1.0 / 300.0  # dropout episode starts per second
    dropout_duration_s: tuple[float, float] = (1.0, 8.0)
    dropout_no_fix_prob: float = 0.5  # a dropout publishes NO_FIX (else nothing at all)
    vertical_sigma_m: float = 4.0  # vertical error std (white + bias-like drift ignored)
    cov_scale_range: tuple[float, float] = (0.5, 2.0)  # reported sigma / true core sigma
    cov_scale_period_s: float = 30.0  # how long one reported-covariance scale lasts


@dataclass(frozen=True)
class GnssSimulation:
    """Simulated receiver output at epochs ``stamp_ns`` (``N``).

    ``fixes`` holds the published messages (dropouts without a message are left out);
    ``error_enu_m`` is the true horizontal error of every epoch (NaN without a position).
    """

    stamp_ns: np.ndarray
    fixes: list[GnssFix]
    error_enu_m: np.ndarray
    multipath: np.ndarray  # (N,) bool
    published: np.ndarray  # (N,) bool: a message exists
    has_position: np.ndarray  # (N,) bool: the message carries a fix
    bias_enu_m: np.ndarray | None = None  # (N, 2) the drifting bias alone (x environment gain)
    white_enu_m: np.ndarray | None = None  # (N, 2) the white part (x environment gain)
    multipath_enu_m: np.ndarray | None = None  # (N, 2) the multipath offsets (0 outside)


def _episodes(n: int, dt_s: float, rate_hz: float, duration_s, rng) -> list[tuple[int, int]]:
    """``[(first, stop), ...]`` epoch ranges of Poisson-started episodes."""
    out, t, total = [], 0.0, n * dt_s
    while rate_hz > 0:
        t += rng.exponential(1.0 / rate_hz)
        if t >= total:
            break
        length = rng.uniform(*duration_s)
        out.append((int(t / dt_s), min(int((t + length) / dt_s) + 1, n)))
        t += length
    return out


def _gauss_markov(n: int, dt_s: float, sigma: float, tau_s: float, rng) -> np.ndarray:
    """``(n, 2)`` first-order Gauss-Markov process, stationary from the first epoch."""
    phi = np.exp(-dt_s / tau_s)
    drive = rng.normal(0.0, sigma * np.sqrt(1 - phi**2), (n, 2))
    out = np.empty((n, 2))
    out[0] = rng.normal(0.0, sigma, 2)
    for k in range(1, n):  # a recursion; numpy has no IIR filter and scipy is not used here
        out[k] = phi * out[k - 1] + drive[k]
    return out


def _env_gain(n: int, dt_s: float, cfg: GnssErrorConfig, rng) -> np.ndarray:
    """``(n,)`` log-uniform gain, linearly interpolated between ``env_period_s`` knots."""
    knots = int(n * dt_s / cfg.env_period_s) + 2
    lo, hi = np.log(cfg.env_gain_range[0]), np.log(cfg.env_gain_range[1])
    values = np.exp(rng.uniform(lo, hi, knots))
    return np.interp(np.arange(n) * dt_s / cfg.env_period_s, np.arange(knots), values)


def horizontal_error_components(
    n: int, dt_s: float, cfg: GnssErrorConfig, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """``bias``, ``white`` and ``multipath`` ``(n, 2)`` error parts (ENU m) and the ``(n,)``
    ``flags`` of multipath epochs; their sum is the horizontal error."""
    bias = _gauss_markov(n, dt_s, cfg.bias_sigma_m, cfg.bias_tau_s, rng)
    white = rng.normal(0.0, cfg.white_sigma_m, (n, 2))
    gain = _env_gain(n, dt_s, cfg, rng)[:, None]
    mp = np.zeros((n, 2))
    flags = np.zeros(n, bool)
    lo, hi = np.log(cfg.multipath_m[0]), np.log(cfg.multipath_m[1])
    for a, b in _episodes(n, dt_s, cfg.multipath_rate_hz, cfg.multipath_duration_s, rng):
        ang = rng.uniform(0, 2 * np.pi)
        mp[a:b] += np.exp(rng.uniform(lo, hi)) * np.array([np.cos(ang), np.sin(ang)])
        flags[a:b] = True
    return {'bias': bias * gain, 'white': white * gain, 'multipath': mp, 'flags': flags}


def horizontal_errors(
    n: int, dt_s: float, cfg: GnssErrorConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``(n, 2)`` horizontal errors (ENU metres) and the ``(n,)`` multipath flags."""
    c = horizontal_error_components(n, dt_s, cfg, rng)
    return c['bias'] + c['white'] + c['multipath'], c['flags']


def _reported_sigma(n: int, dt_s: float, cfg: GnssErrorConfig, rng) -> np.ndarray:
    core = float(np.hypot(cfg.bias_sigma_m, cfg.white_sigma_m))
    per = max(int(cfg.cov_scale_period_s / dt_s), 1)
    lo, hi = np.log(cfg.cov_scale_range[0]), np.log(cfg.cov_scale_range[1])
    scales = np.exp(rng.uniform(lo, hi, n // per + 1))
    return core * np.repeat(scales, per)[:n]


def simulate_gnss(
    stamp_ns: np.ndarray,
    xy_enu_m: np.ndarray,
    frame: LocalFrame,
    cfg: GnssErrorConfig,
    rng: np.random.Generator,
) -> GnssSimulation:
    """Receiver output for true positions ``xy_enu_m`` (``(N, 2)``) at equally spaced stamps."""
    stamp_ns = np.asarray(stamp_ns, np.int64)
    n = len(stamp_ns)
    dt_s = float(np.median(np.diff(stamp_ns))) * 1e-9 if n > 1 else 1.0
    parts = horizontal_error_components(n, dt_s, cfg, rng)
    err, multipath = parts['bias'] + parts['white'] + parts['multipath'], parts['flags']
    up = rng.normal(0.0, cfg.vertical_sigma_m, n)
    sigma = _reported_sigma(n, dt_s, cfg, rng)
    published, has_pos = np.ones(n, bool), np.ones(n, bool)
    for a, b in _episodes(n, dt_s, cfg.dropout_rate_hz, cfg.dropout_duration_s, rng):
        has_pos[a:b] = False
        published[a:b] = rng.random() < cfg.dropout_no_fix_prob
    lat, lon, alt = frame.to_geodetic(xy_enu_m[:, 0] + err[:, 0], xy_enu_m[:, 1] + err[:, 1], up)
    fixes = []
    for k in np.nonzero(published)[0]:
        fixes.append(_fix(int(stamp_ns[k]), lat[k], lon[k], alt[k], sigma[k], has_pos[k]))
    err[~has_pos] = np.nan
    return GnssSimulation(stamp_ns, fixes, err, multipath, published, has_pos,
                          parts['bias'], parts['white'], parts['multipath'])  # fmt: skip


def _fix(stamp_ns: int, lat: float, lon: float, alt: float, sigma: float, ok: bool) -> GnssFix:
    if not ok:
        return GnssFix(stamp_ns, float('nan'), float('nan'), float('nan'), np.zeros((3, 3)),
                       COVARIANCE_TYPE_UNKNOWN, STATUS_NO_FIX)  # fmt: skip
    cov = np.diag([sigma**2, sigma**2, (2.0 * sigma) ** 2])
    return GnssFix(
        stamp_ns,
        float(lat),
        float(lon),
        float(alt),
        cov,
        COVARIANCE_TYPE_DIAGONAL_KNOWN,
        STATUS_FIX,
    )


GNSS_PROFILES: dict[str, GnssErrorConfig] = {
    'open': GnssErrorConfig(
        bias_sigma_m=1.5,
        white_sigma_m=0.5,
        env_gain_range=(0.7, 1.3),
        multipath_rate_hz=1.0 / 600.0,
        multipath_duration_s=(1.0, 3.0),
        multipath_m=(5.0, 12.0),
        dropout_rate_hz=1.0 / 900.0,
        dropout_duration_s=(1.0, 3.0),
    ),
    'default': GnssErrorConfig(),
    'urban': GnssErrorConfig(
        bias_sigma_m=3.5,
        white_sigma_m=1.3,
        env_gain_range=(0.7, 2.0),
        multipath_rate_hz=1.0 / 40.0,
        multipath_duration_s=(1.0, 8.0),
        multipath_m=(10.0, 35.0),
        dropout_rate_hz=1.0 / 100.0,
        dropout_duration_s=(2.0, 20.0),
    ),
}


def gnss_profile(name: str) -> GnssErrorConfig:
    """The error model of a named profile: ``open``, ``default`` or ``urban`` (see the module
    docstring for their statistics)."""
    try:
        return GNSS_PROFILES[name]
    except KeyError:
        raise ValueError(f'unknown GNSS profile {name!r}; use {sorted(GNSS_PROFILES)}') from None


def error_stats(error_enu_m: np.ndarray) -> dict[str, float]:
    """Mean, median, p90, p95, p99 of the horizontal error norm (metres), NaNs ignored."""
    return metrics.error_stats(np.linalg.norm(error_enu_m, axis=1))
