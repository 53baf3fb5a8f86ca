"""The particle set: state arrays and log-weights, plus the initial distribution."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class Particles:
    """``M`` particles in the ENU map frame.

    Attributes:
        xy_enu_m: ``(M, 2)`` east, north in metres.
        speed_mps: ``(M,)`` forward speed in m/s (negative only while odometry reports
            reversing).
        yaw_rad: ``(M,)`` heading in radians, REP-103 (0 = east, counter-clockwise), in
            ``[-pi, pi)``.
        yaw_rate_radps: ``(M,)`` yaw rate in rad/s (counter-clockwise positive).
        log_w: ``(M,)`` log-weights, normalised so that ``logsumexp(log_w) == 0``.
        bias_enu_m: ``(M, 2)`` the GNSS receiver's slowly drifting bias (fix = position + bias
            + white noise), m; zeros unless ``gnss_bias_sigma_m > 0``.
        odom_scale: ``(M,)`` each particle's wheel-speed scale error (true = measured * scale).
        gyro_bias_radps: ``(M,)`` each particle's yaw-rate bias (true = measured - bias), rad/s.
    """

    xy_enu_m: np.ndarray
    speed_mps: np.ndarray
    yaw_rad: np.ndarray
    yaw_rate_radps: np.ndarray
    log_w: np.ndarray
    bias_enu_m: np.ndarray | None = None
    odom_scale: np.ndarray | None = None
    gyro_bias_radps: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.bias_enu_m is None:
            self.bias_enu_m = np.zeros_like(self.xy_enu_m)
        if self.odom_scale is None:
            self.odom_scale = np.ones_like(self.speed_mps)
        if self.gyro_bias_radps is None:
            self.gyro_bias_radps = np.zeros_like(self.speed_mps)

    @property
    def size(self) -> int:
        return int(self.speed_mps.shape[0])

    def weights(self) -> np.ndarray:
        """``(M,)`` normalised linear weights."""
        w = np.exp(self.log_w - np.max(self.log_w))
        return w / np.sum(w)

    def take(self, idx: np.ndarray) -> Particles:
        """The particles at ``idx`` with uniform weights (the result of resampling)."""
        m = idx.shape[0]
        return Particles(
            self.xy_enu_m[idx],
            self.speed_mps[idx],
            self.yaw_rad[idx],
            self.yaw_rate_radps[idx],
            np.full(m, -math.log(m)),
            self.bias_enu_m[idx],
            self.odom_scale[idx],
            self.gyro_bias_radps[idx],
        )


def wrap_angle(angle_rad: np.ndarray) -> np.ndarray:
    """Angles wrapped to ``[-pi, pi)``."""
    return (np.asarray(angle_rad) + np.pi) % (2.0 * np.pi) - np.pi


def sample_gaussian_xy(
    center_enu_m: np.ndarray, cov_m2: np.ndarray, m: int, rng: np.random.Generator
) -> np.ndarray:
    """``(m, 2)`` ENU positions drawn from ``N(center, cov)`` (``cov`` symmetric PSD, m^2)."""
    vals, vecs = np.linalg.eigh(cov_m2)
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))
    return center_enu_m[None, :] + rng.standard_normal((m, 2)) @ root.T


def spread_along_bias(p: Particles, bias_sigma_m: float, rng: np.random.Generator) -> None:
    """Re-spread a cloud that GNSS alone has narrowed below the receiver bias it cannot see:
    positions move by ``d ~ N(0, max(sigma^2 I - C, 0))`` (``C`` the cloud's position
    covariance) and biases by ``-d``, so position + bias, all a fix sees, is unchanged. Before a
    network frame after GNSS alone, so that particles exist where the network's peak is
    (development drive 303: the engine's first frames 5 m from a cloud 1.6 m wide sat at the
    grid floor; the cloud stayed on the 6 m GNSS bias for 30 s)."""
    w = p.weights()
    d = p.xy_enu_m - (w[:, None] * p.xy_enu_m).sum(0)
    cov = (w[:, None, None] * d[:, :, None] * d[:, None, :]).sum(0)
    vals, vecs = np.linalg.eigh(bias_sigma_m**2 * np.eye(2) - cov)
    if np.max(vals) <= 0:
        return
    jitter = sample_gaussian_xy(np.zeros(2), (vecs * np.clip(vals, 0.0, None)) @ vecs.T, p.size,
                                rng)  # fmt: skip
    p.xy_enu_m = p.xy_enu_m + jitter
    p.bias_enu_m = p.bias_enu_m - jitter


def initial_particles(
    center_enu_m: np.ndarray,
    cov_m2: np.ndarray,
    m: int,
    init_speed_max_mps: float,
    init_yaw_rate_std_radps: float,
    rng: np.random.Generator,
    bias_sigma_m: float = 0.0,
    odom_scale_sigma: float = 0.0,
    gyro_bias_sigma_radps: float = 0.0,
) -> Particles:
    """Particles around a GNSS fix: Gaussian position, uniform yaw and speed, small yaw rate.

    With ``bias_sigma_m > 0`` every particle draws a receiver bias ``b ~ N(0, bias_sigma^2 I)``
    and sits at ``fix - b - w`` with ``w ~ N(0, cov)`` (``cov`` is then the white part).
    """
    xy = sample_gaussian_xy(center_enu_m, cov_m2, m, rng)
    bias = bias_sigma_m * rng.standard_normal((m, 2)) if bias_sigma_m > 0 else np.zeros((m, 2))
    yaw = rng.uniform(-np.pi, np.pi, m)
    speed = rng.uniform(0.0, init_speed_max_mps, m)
    yaw_rate = init_yaw_rate_std_radps * rng.standard_normal(m)
    scale = 1.0 + odom_scale_sigma * rng.standard_normal(m)
    gyro = gyro_bias_sigma_radps * rng.standard_normal(m)
    return Particles(xy - bias, speed, yaw, yaw_rate, np.full(m, -math.log(m)), bias, scale, gyro)
