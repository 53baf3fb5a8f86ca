"""Motion model: constant speed and turn rate with acceleration, yaw-rate and yaw noise.

Without odometry, speed and yaw rate follow random walks (white acceleration and
yaw-acceleration noise); the yaw rate decays towards zero with time constant
``yaw_rate_decay_s`` so it stays bounded over gaps, and speed is clipped at 0 (forward only).
While odometry drives the prediction (``odometry=True``), the particles carry the measured
speed and yaw rate (set by ``apply_odometry``) with the much smaller ``odom_*`` random walks,
and the speed may be negative: reversing moves backwards along the heading instead of turning
the heading round. The position integrates the mid-step speed along the mid-step heading. The
optional per-particle receiver bias (``gnss_bias_sigma_m > 0``) is a first-order Gauss-Markov
process.
"""

from __future__ import annotations

import math

import numpy as np

from cvseq_localizer.filter.config import FilterConfig
from cvseq_localizer.filter.particles import Particles, wrap_angle


def motion_steps(dt_s: float, config: FilterConfig) -> list[float]:
    """Sub-step lengths (s) that integrate ``dt_s``, capped at ``config.max_gap_s`` in total."""
    total = min(max(float(dt_s), 0.0), config.max_gap_s)
    if total <= 0.0:
        return []
    n = max(1, math.ceil(total / config.max_step_s))
    return [total / n] * n


def propagate(
    particles: Particles,
    dt_s: float,
    config: FilterConfig,
    rng: np.random.Generator,
    odometry: bool = False,
) -> None:
    """Move every particle forward by ``dt_s`` seconds (in place)."""
    for step_s in motion_steps(dt_s, config):
        _step(particles, step_s, config, rng, odometry)
    if config.gnss_model == 'robust' and config.gnss_bias_sigma_m > 0 and dt_s > 0:
        propagate_bias(particles, dt_s, config, rng)


def propagate_bias(
    p: Particles, dt_s: float, config: FilterConfig, rng: np.random.Generator
) -> None:
    """Gauss-Markov step of the receiver bias over ``dt_s`` (stationary std kept)."""
    phi = math.exp(-dt_s / config.gnss_bias_tau_s)
    drive = config.gnss_bias_sigma_m * math.sqrt(max(1.0 - phi * phi, 0.0))
    p.bias_enu_m = phi * p.bias_enu_m + drive * rng.standard_normal((p.size, 2))


def apply_odometry(
    p: Particles,
    speed_mps: float,
    yaw_rate_radps: float,
    speed_std_mps: float,
    yaw_rate_std_radps: float,
    rng: np.random.Generator,
) -> None:
    """Particles take the measured signed speed and yaw rate, corrected by their own scale
    error and gyro bias, plus the sample noise (in place). The per-particle scale and bias are
    the systematic odometry errors: GNSS selects them, and through a dropout their spread makes
    the cloud grow with the distance driven (honestly)."""
    noise = rng.standard_normal((2, p.size))
    p.speed_mps = p.odom_scale * speed_mps + speed_std_mps * noise[0]
    p.yaw_rate_radps = yaw_rate_radps - p.gyro_bias_radps + yaw_rate_std_radps * noise[1]


def _noise_densities(config: FilterConfig, odometry: bool) -> tuple[float, float, float]:
    """Acceleration, yaw-acceleration and yaw noise densities (per sqrt(Hz))."""
    if odometry:
        return (
            config.odom_accel_noise_mps2,
            config.odom_yaw_accel_noise_radps2,
            config.odom_yaw_noise_radps,
        )
    return config.accel_noise_mps2, config.yaw_accel_noise_radps2, config.yaw_rate_noise_radps


def _step(
    p: Particles, dt_s: float, config: FilterConfig, rng: np.random.Generator, odometry: bool
) -> None:
    noise = rng.standard_normal((5, p.size))
    root_dt = math.sqrt(dt_s)
    accel, yaw_accel, yaw_noise_d = _noise_densities(config, odometry)
    if odometry:
        decay, v_min = 1.0, -config.max_speed_mps
    else:
        decay, v_min = math.exp(-dt_s / config.yaw_rate_decay_s), 0.0
    speed = np.clip(p.speed_mps + accel * root_dt * noise[0], v_min, config.max_speed_mps)
    rate = decay * p.yaw_rate_radps + yaw_accel * root_dt * noise[1]
    rate = np.clip(rate, -config.max_yaw_rate_radps, config.max_yaw_rate_radps)
    yaw = p.yaw_rad + 0.5 * (p.yaw_rate_radps + rate) * dt_s + yaw_noise_d * root_dt * noise[2]
    v_mid = 0.5 * (p.speed_mps + speed)
    yaw_mid = p.yaw_rad + 0.5 * (yaw - p.yaw_rad)
    pos_sigma = config.position_noise_mps * root_dt
    p.xy_enu_m[:, 0] += v_mid * np.cos(yaw_mid) * dt_s + pos_sigma * noise[3]
    p.xy_enu_m[:, 1] += v_mid * np.sin(yaw_mid) * dt_s + pos_sigma * noise[4]
    p.speed_mps = speed
    p.yaw_rate_radps = rate
    p.yaw_rad = wrap_angle(yaw)
