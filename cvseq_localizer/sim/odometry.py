"""Simulated wheel odometry and gyro: signed speed and yaw rate from the true trajectory.

Error model (per drive, seeded), figures typical of a passenger car's wheel-speed sensors and
an automotive MEMS yaw-rate sensor after standstill calibration:

- speed: scale error ``N(0, 1 %)`` per drive (tyre radius, pressure), white noise
  0.05 m/s per sample, quantised to 0.01 m/s;
- yaw rate: constant bias ``N(0, 0.1 deg/s)`` per drive plus a slow random walk of
  0.005 deg/s per sqrt(s), white noise 0.3 deg/s (0.005 rad/s) per sample;
- published at 50 Hz with variances equal to the white-noise variances (what a driver
  reports; scale error and bias are not in the reported covariance, as on real cars).

:func:`add_odometry_noise` applies the same model to given true samples (``cvseq-convert kitti
--odom-noise`` uses it on the OXTS velocities).

Hand-written: no kept library simulates vehicle odometry errors from a given trajectory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cvseq_localizer.sim.drive import DrivePlan

_DIFF_NS = 20_000_000  # central difference step for the true yaw rate, ns


@dataclass(frozen=True)
class OdometryConfig:
    """Odometry error model (SI units; see the module docstring)."""

    rate_hz: float = 50.0
    speed_scale_sigma: float = 0.01  # relative, per drive
    speed_noise_mps: float = 0.05  # white, per sample
    speed_quantum_mps: float = 0.01
    gyro_bias_sigma_radps: float = float(np.deg2rad(0.1))  # constant per drive
    gyro_bias_walk_radps_per_sqrt_s: float = float(np.deg2rad(0.005))
    yaw_rate_noise_radps: float = 0.005  # white, per sample


@dataclass(frozen=True)
class OdometrySimulation:
    """Odometry samples ``(K,)``: stamps (ns), measured signed speed (m/s) and yaw rate
    (rad/s, counter-clockwise), reported variances, and the truth they were made from."""

    stamp_ns: np.ndarray
    speed_mps: np.ndarray
    yaw_rate_radps: np.ndarray
    speed_var_m2ps2: float
    yaw_rate_var_rad2ps2: float
    true_speed_mps: np.ndarray
    true_yaw_rate_radps: np.ndarray
    speed_scale: float
    gyro_bias_radps: np.ndarray


def true_motion(plan: DrivePlan, stamp_ns: np.ndarray, start_ns: int) -> tuple[np.ndarray, ...]:
    """True speed (m/s) and yaw rate (rad/s, central difference of the heading) at stamps."""
    now = plan.sample(stamp_ns, start_ns)
    ahead = plan.sample(stamp_ns + _DIFF_NS, start_ns)
    behind = plan.sample(stamp_ns - _DIFF_NS, start_ns)
    dyaw = np.angle(np.exp(1j * (ahead.yaw_rad - behind.yaw_rad)))
    return now.speed_mps, dyaw / (2 * _DIFF_NS * 1e-9)


@dataclass(frozen=True)
class OdometryErrors:
    """Measured signed speed (m/s) and yaw rate (rad/s) of :func:`add_odometry_noise`, with the
    drive's speed scale and the gyro bias ``(K,)`` that went into them."""

    speed_mps: np.ndarray
    yaw_rate_radps: np.ndarray
    speed_scale: float
    gyro_bias_radps: np.ndarray


def add_odometry_noise(
    stamp_ns: np.ndarray,
    speed_mps: np.ndarray,
    yaw_rate_radps: np.ndarray,
    cfg: OdometryConfig,
    rng: np.random.Generator,
    dt_s: float | None = None,
) -> OdometryErrors:
    """The error model applied to true speeds and yaw rates at (about equally spaced)
    ``stamp_ns``; the gyro bias random walk steps by ``dt_s`` (default: the median sample
    interval, ``1 / cfg.rate_hz`` for a single sample). ``cfg.rate_hz`` is not used otherwise."""
    v, w = np.asarray(speed_mps, np.float64), np.asarray(yaw_rate_radps, np.float64)
    n = len(v)
    if dt_s is None:
        diffs = np.diff(np.asarray(stamp_ns, np.int64))
        dt_s = float(np.median(diffs)) * 1e-9 if n > 1 else 1.0 / cfg.rate_hz
    dt = dt_s
    scale = 1.0 + cfg.speed_scale_sigma * rng.standard_normal()
    walk = np.cumsum(rng.standard_normal(n)) * cfg.gyro_bias_walk_radps_per_sqrt_s * np.sqrt(dt)
    bias = cfg.gyro_bias_sigma_radps * rng.standard_normal() + walk
    speed = scale * v + cfg.speed_noise_mps * rng.standard_normal(n)
    if cfg.speed_quantum_mps > 0:
        speed = np.round(speed / cfg.speed_quantum_mps) * cfg.speed_quantum_mps
    rate = w + bias + cfg.yaw_rate_noise_radps * rng.standard_normal(n)
    return OdometryErrors(speed, rate, float(scale), bias)


def simulate_odometry(
    plan: DrivePlan,
    start_ns: int,
    duration_s: float,
    cfg: OdometryConfig,
    rng: np.random.Generator,
) -> OdometrySimulation:
    """Odometry over ``[start_ns, start_ns + duration_s)`` at ``cfg.rate_hz``."""
    n = int(np.ceil(duration_s * cfg.rate_hz - 1e-9))
    stamps = start_ns + np.round(np.arange(n) * 1e9 / cfg.rate_hz).astype(np.int64)
    v, w = true_motion(plan, stamps, start_ns)
    e = add_odometry_noise(stamps, v, w, cfg, rng, dt_s=1.0 / cfg.rate_hz)
    return OdometrySimulation(stamps, e.speed_mps, e.yaw_rate_radps, cfg.speed_noise_mps**2,
                              cfg.yaw_rate_noise_radps**2, v, w, e.speed_scale,
                              e.gyro_bias_radps)  # fmt: skip
