"""Score volume ``(K, S, S)`` (headings x tile pixels) -> grid cells and heading marginals.

The geometric matcher's posterior arithmetic, apart from its matching: heading-prior weights, the
likelihood mass per heading (over the tile or around a position), the heading evidence of those
masses, and the pixel posterior as ``N x N`` cell probabilities with sub-pixel offsets.
"""

from __future__ import annotations

import math

import numpy as np

from cvseq_localizer.runtime.heading import HeadingEvidence


def prior_weights(cands: np.ndarray, prior_rad: float, std_rad: float | None) -> np.ndarray:
    """``(K,)`` Gaussian heading-prior weights, max 1 (all 1 without a std)."""
    if std_rad is None or not std_rad > 0:
        return np.ones(len(cands))
    d2 = (np.angle(np.exp(1j * (cands - prior_rad))) / std_rad) ** 2
    return np.exp(-0.5 * (d2 - d2.min()))


def position_weighted_mass(
    scores: np.ndarray, temperature: float, prior_px: tuple[float, float, float] | None
) -> np.ndarray:
    """``(K,)`` likelihood mass ``sum exp(score / T)`` per heading (max-shifted), over the
    whole tile or weighted by the Gaussian ``(row, col, sigma)`` in pixels (in log space, so
    that a prior far from every good score does not underflow to nothing)."""
    log_lik = scores * np.float32(1.0 / temperature)
    if prior_px is not None:
        row, col, sigma = (float(v) for v in prior_px)
        if math.isfinite(row) and math.isfinite(col) and math.isfinite(sigma) and sigma > 0:
            axis = np.arange(scores.shape[1], dtype=np.float32)
            d2r = ((axis - np.float32(row)) / np.float32(sigma)) ** 2
            d2c = ((axis - np.float32(col)) / np.float32(sigma)) ** 2
            log_lik = log_lik - 0.5 * (d2r[:, None] + d2c[None, :])[None]
    return np.exp(log_lik - log_lik.max()).sum(axis=(1, 2), dtype=np.float64)


def heading_evidence(cands: np.ndarray, mass: np.ndarray, step_rad: float) -> HeadingEvidence:
    """Circular mean and variance of the per-candidate marginal (+ the step's quantisation)."""
    p = mass / mass.sum()
    z = np.sum(p * np.exp(1j * cands))
    mean = float(np.angle(z))
    d = np.angle(np.exp(1j * (cands - mean)))
    var = float(np.sum(p * d * d) + step_rad**2 / 12.0)
    return HeadingEvidence(mean, var, cands.astype(np.float64), p)


def cells(pix: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel posterior ``(S, S)`` -> cell probabilities ``(N, N)`` and in-cell offsets."""
    s = pix.shape[0]
    c = s // n
    blocks = pix.reshape(n, c, n, c).transpose(0, 2, 1, 3).reshape(n, n, c * c)
    prob = blocks.sum(axis=2)
    best = blocks.argmax(axis=2)
    r_in, c_in = np.divmod(best, c)
    rows = np.arange(n)[:, None] * c + r_in
    cols = np.arange(n)[None, :] * c + c_in
    log_pix = np.log(np.maximum(pix, 1e-300))
    dr = parabola(log_pix, rows, cols, 1, 0)
    dc = parabola(log_pix, rows, cols, 0, 1)
    top = 1.0 - 1e-6
    off_r = np.clip((r_in + 0.5 + dr) / c, 0.0, top)
    off_c = np.clip((c_in + 0.5 + dc) / c, 0.0, top)
    return prob / prob.sum(), np.stack([off_r, off_c], axis=-1)


def parabola(f: np.ndarray, rows: np.ndarray, cols: np.ndarray, ur: int, uc: int) -> np.ndarray:
    """Sub-pixel peak shift (in [-0.5, 0.5] px) along one axis from three samples."""
    s = f.shape[0]
    lo = f[np.clip(rows - ur, 0, s - 1), np.clip(cols - uc, 0, s - 1)]
    mid = f[rows, cols]
    hi = f[np.clip(rows + ur, 0, s - 1), np.clip(cols + uc, 0, s - 1)]
    den = lo - 2 * mid + hi
    with np.errstate(divide='ignore', invalid='ignore'):
        d = np.where(den < -1e-12, 0.5 * (lo - hi) / den, 0.0)
    return np.clip(np.nan_to_num(d), -0.5, 0.5)
