"""Grid measurement model: the network's cell probabilities as a likelihood over position.

``L(x) = floor + (1 - floor_weight) * sum_k p_k N(x; mu_k, sigma^2 I)`` inside the tile and
``floor`` outside, with ``floor = floor_weight / tile_area``; the log-likelihood is divided by
the temperature. Only the most probable cells (``grid_top_mass`` of the mass) within reach of
the particle cloud are evaluated, on a raster (separable Gaussians: one matrix product) that is
interpolated at the particles, so the cost does not grow with particles x cells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cvseq_localizer.filter.config import FilterConfig
from cvseq_localizer.filter.tile import inside_tile

_CUTOFF_SIGMA = 5.0  # components farther than this from every particle contribute < e^-12
_CHUNK = 4096  # particles per block when evaluating the exact mixture (bounds memory)
_MAX_NODES = 256  # raster nodes per axis at most (the step grows for very wide clouds)


@dataclass(frozen=True)
class GridLikelihood:
    """Result of one grid evaluation.

    Attributes:
        log_lik: ``(M,)`` tempered log-likelihood of each particle (finite).
        at_floor: no particle gets more than the floor from the mixture (the network's belief
            and the particle cloud disagree).
    """

    log_lik: np.ndarray
    at_floor: bool


def validate_grid(points_enu_m: np.ndarray, probs: np.ndarray, cell_size_m: float) -> str:
    """Why a grid input is unusable (``''`` if usable)."""
    if points_enu_m.ndim != 2 or points_enu_m.shape[1] != 2 or points_enu_m.shape[0] == 0:
        return f'points shape {points_enu_m.shape} is not (K, 2)'
    if probs.shape != (points_enu_m.shape[0],):
        return f'probs shape {probs.shape} does not match {points_enu_m.shape[0]} points'
    if not (math.isfinite(cell_size_m) and cell_size_m > 0):
        return f'cell size {cell_size_m!r} m is not positive'
    if not (np.all(np.isfinite(points_enu_m)) and np.all(np.isfinite(probs))):
        return 'non-finite points or probabilities'
    if np.any(probs < 0) or not np.sum(probs) > 0:
        return 'probabilities are negative or all zero'
    return ''


def top_mass_indices(probs: np.ndarray, top_mass: float) -> np.ndarray:
    """Indices of the most probable cells covering ``top_mass`` of ``probs`` (sum 1), most
    probable first."""
    idx = np.argsort(-probs, kind='stable')
    n = int(np.searchsorted(np.cumsum(probs[idx]), top_mass)) + 1
    return idx[:n]


def mixture_density(
    xy_enu_m: np.ndarray, means_enu_m: np.ndarray, weights: np.ndarray, sigma_m: float
) -> np.ndarray:
    """``(M,)`` density (1/m^2) of an isotropic Gaussian mixture at ``(M, 2)`` positions (exact,
    ``O(M K)``; the reference for ``raster_mixture_density``)."""
    out = np.zeros(xy_enu_m.shape[0])
    if means_enu_m.shape[0] == 0:
        return out
    scale = weights / (2.0 * np.pi * sigma_m**2)
    inv = -0.5 / sigma_m**2
    for start in range(0, xy_enu_m.shape[0], _CHUNK):
        xy = xy_enu_m[start : start + _CHUNK]
        dx = xy[:, 0:1] - means_enu_m[None, :, 0]
        dy = xy[:, 1:2] - means_enu_m[None, :, 1]
        out[start : start + _CHUNK] = np.exp((dx * dx + dy * dy) * inv) @ scale
    return out


def raster_mixture_density(
    xy_enu_m: np.ndarray,
    means_enu_m: np.ndarray,
    weights: np.ndarray,
    sigma_m: float,
    step_m: float,
) -> np.ndarray:
    """``(M,)`` mixture density (1/m^2) interpolated bilinearly from a raster, ``O(M + R^2 K)``.

    An isotropic Gaussian separates into x and y factors, so the density on a raster with node
    spacing ``step_m`` over the particles' bounding box is one matrix product
    ``(Gx * w) @ Gy.T``. The box is clipped to the components' reach (5 sigma).
    """
    out = np.zeros(xy_enu_m.shape[0])
    if means_enu_m.shape[0] == 0 or xy_enu_m.shape[0] == 0:
        return out
    reach = _CUTOFF_SIGMA * sigma_m
    lo = np.maximum(xy_enu_m.min(axis=0), means_enu_m.min(axis=0) - reach)
    hi = np.minimum(xy_enu_m.max(axis=0), means_enu_m.max(axis=0) + reach)
    if np.any(hi < lo):
        return out
    step = max(step_m, float(np.max(hi - lo)) / (_MAX_NODES - 1))
    n = np.floor((hi - lo) / step).astype(int) + 2
    gx = _gauss_1d(lo[0] + step * np.arange(n[0]), means_enu_m[:, 0], sigma_m)
    gy = _gauss_1d(lo[1] + step * np.arange(n[1]), means_enu_m[:, 1], sigma_m)
    raster = (gx * (weights / (2.0 * np.pi * sigma_m**2))) @ gy.T
    uv = (xy_enu_m - lo) / step
    ok = np.all((uv >= 0.0) & (uv <= n - 1), axis=1)
    i0 = np.minimum(uv[ok].astype(int), n - 2)
    f = uv[ok] - i0
    r = raster
    out[ok] = (
        r[i0[:, 0], i0[:, 1]] * (1 - f[:, 0]) * (1 - f[:, 1])
        + r[i0[:, 0] + 1, i0[:, 1]] * f[:, 0] * (1 - f[:, 1])
        + r[i0[:, 0], i0[:, 1] + 1] * (1 - f[:, 0]) * f[:, 1]
        + r[i0[:, 0] + 1, i0[:, 1] + 1] * f[:, 0] * f[:, 1]
    )
    return out


def _gauss_1d(nodes_m: np.ndarray, centers_m: np.ndarray, sigma_m: float) -> np.ndarray:
    """``(R, K)`` unnormalised 1-D Gaussian factors."""
    d = nodes_m[:, None] - centers_m[None, :]
    return np.exp(-0.5 * (d / sigma_m) ** 2)


def grid_log_likelihood(
    xy_enu_m: np.ndarray,
    points_enu_m: np.ndarray,
    probs: np.ndarray,
    cell_size_m: float,
    config: FilterConfig,
) -> GridLikelihood:
    """Tempered log-likelihood of particles ``(M, 2)`` under a validated grid belief.

    ``points_enu_m`` ``(K, 2)`` are the refined cell positions, ``probs`` ``(K,)`` their
    probabilities (any positive scale), ``cell_size_m`` the cell edge length in metres.
    """
    p = probs / np.sum(probs)
    sigma_m = config.grid_sigma_cells * cell_size_m
    idx = top_mass_indices(p, config.grid_top_mass)
    lo = xy_enu_m.min(axis=0) - _CUTOFF_SIGMA * sigma_m
    hi = xy_enu_m.max(axis=0) + _CUTOFF_SIGMA * sigma_m
    idx = idx[np.all((points_enu_m[idx] >= lo) & (points_enu_m[idx] <= hi), axis=1)]
    inside = inside_tile(xy_enu_m, points_enu_m, 0.5 * cell_size_m)
    mix = np.zeros(xy_enu_m.shape[0])
    step_m = config.grid_raster_step_sigma * sigma_m
    mix[inside] = raster_mixture_density(
        xy_enu_m[inside], points_enu_m[idx], p[idx], sigma_m, step_m
    )
    floor = config.grid_floor_weight / (points_enu_m.shape[0] * cell_size_m**2)
    signal = (1.0 - config.grid_floor_weight) * mix
    log_lik = np.log(floor + signal) / config.grid_temperature
    return GridLikelihood(log_lik, bool(not np.any(signal > floor)))


class GridInnovation:
    """Running mean of ``d d^T`` (m^2), ``d`` = a grid frame's most probable point minus the
    predicted estimate: how far the network's answers stray from the filter, frame to frame
    (see ``FilterConfig.grid_innovation_cov_weight``)."""

    def __init__(self) -> None:
        self.cov_m2 = np.zeros((2, 2))
        self._stamp_ns: int | None = None

    def add(self, stamp_ns: int, d_enu_m: np.ndarray, config: FilterConfig) -> None:
        """One frame's ``d`` (ENU m), its length clipped at ``grid_innovation_max_m`` (a lost
        network's answers, 50-80 m off, would otherwise block it for good)."""
        dt_s = 0.1 if self._stamp_ns is None else max(stamp_ns - self._stamp_ns, 0) * 1e-9
        alpha = min(dt_s / config.grid_innovation_tau_s, 1.0)
        norm = float(np.hypot(*d_enu_m))
        if norm > config.grid_innovation_max_m:
            d_enu_m = d_enu_m * (config.grid_innovation_max_m / norm)
        self.cov_m2 = self.cov_m2 + alpha * (np.outer(d_enu_m, d_enu_m) - self.cov_m2)
        self._stamp_ns = max(self._stamp_ns or 0, int(stamp_ns))
