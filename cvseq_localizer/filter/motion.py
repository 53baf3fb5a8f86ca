"""Motion model: constant speed and turn rate with acceleration, yaw-rate and yaw noise.

Speed and yaw rate follow random walks (white acceleration and yaw-acceleration noise); the yaw
rate decays towards zero with time constant ``yaw_rate_decay_s`` so it stays bounded over gaps.
The position integrates the mid-step speed along the mid-step heading.
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
    particles: Particles, dt_s: float, config: FilterConfig, rng: np.random.Generator
) -> None:
    """Move every particle forward by ``dt_s`` seconds (in place)."""
    for step_s in motion_steps(dt_s, config):
        _step(particles, step_s, config, rng)


def _step(p: Particles, dt_s: float, config: FilterConfig, rng: np.random.Generator) -> None:
    noise = rng.standard_normal((5, p.size))
    root_dt = math.sqrt(dt_s)
    speed = p.speed_mps + config.accel_noise_mps2 * root_dt * noise[0]
    speed = np.clip(speed, 0.0, config.max_speed_mps)
    decay = math.exp(-dt_s / config.yaw_rate_decay_s)
    rate = decay * p.yaw_rate_radps + config.yaw_accel_noise_radps2 * root_dt * noise[1]
    rate = np.clip(rate, -config.max_yaw_rate_radps, config.max_yaw_rate_radps)
    yaw_noise = config.yaw_rate_noise_radps * root_dt * noise[2]
    yaw = p.yaw_rad + 0.5 * (p.yaw_rate_radps + rate) * dt_s + yaw_noise
    v_mid = 0.5 * (p.speed_mps + speed)
    yaw_mid = 0.5 * (p.yaw_rad + yaw)
    pos_sigma = config.position_noise_mps * root_dt
    p.xy_enu_m[:, 0] += v_mid * np.cos(yaw_mid) * dt_s + pos_sigma * noise[3]
    p.xy_enu_m[:, 1] += v_mid * np.sin(yaw_mid) * dt_s + pos_sigma * noise[4]
    p.speed_mps = speed
    p.yaw_rate_radps = rate
    p.yaw_rad = wrap_angle(yaw)
