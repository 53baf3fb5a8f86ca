"""Grid measurement model: the network's cell probabilities as a likelihood over position.

``L(x) = floor + (1 - floor_weight) * sum_k p_k N(x; mu_k, sigma^2 I)`` inside the tile and
``floor`` outside, with ``floor = floor_weight / tile_area``; the log-likelihood is divided by
the temperature. Only the most probable cells (``grid_top_mass`` of the mass, at most
``grid_max_cells``) near the particle cloud are evaluated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cvseq_localizer.filter.config import FilterConfig
from cvseq_localizer.filter.tile import inside_tile

_CUTOFF_SIGMA = 5.0  # components farther than this from every particle contribute < e^-12
_CHUNK = 4096  # particles per block when evaluating the mixture (bounds memory)


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


def top_mass_indices(probs: np.ndarray, top_mass: float, max_cells: int) -> np.ndarray:
    """Indices of the most probable cells covering ``top_mass`` of ``probs`` (sum 1), sorted."""
    k = min(int(max_cells), probs.shape[0])
    idx = np.argpartition(-probs, k - 1)[:k] if k < probs.shape[0] else np.arange(k)
    idx = idx[np.argsort(-probs[idx], kind='stable')]
    n = int(np.searchsorted(np.cumsum(probs[idx]), top_mass)) + 1
    return idx[: min(n, k)]


def mixture_density(
    xy_enu_m: np.ndarray, means_enu_m: np.ndarray, weights: np.ndarray, sigma_m: float
) -> np.ndarray:
    """``(M,)`` density (1/m^2) of an isotropic Gaussian mixture at ``(M, 2)`` positions."""
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
    idx = top_mass_indices(p, config.grid_top_mass, config.grid_max_cells)
    lo = xy_enu_m.min(axis=0) - _CUTOFF_SIGMA * sigma_m
    hi = xy_enu_m.max(axis=0) + _CUTOFF_SIGMA * sigma_m
    near = np.all((points_enu_m[idx] >= lo) & (points_enu_m[idx] <= hi), axis=1)
    idx = idx[near]
    inside = inside_tile(xy_enu_m, points_enu_m, 0.5 * cell_size_m)
    mix = np.zeros(xy_enu_m.shape[0])
    mix[inside] = mixture_density(xy_enu_m[inside], points_enu_m[idx], p[idx], sigma_m)
    floor = config.grid_floor_weight / (points_enu_m.shape[0] * cell_size_m**2)
    signal = (1.0 - config.grid_floor_weight) * mix
    log_lik = np.log(floor + signal) / config.grid_temperature
    return GridLikelihood(log_lik, bool(not np.any(signal > floor)))
