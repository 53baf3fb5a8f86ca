"""Synthetic drives, GNSS fixes and grid beliefs for the filter tests and the benchmark."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NS = 1_000_000_000


@dataclass(frozen=True)
class Drive:
    """Ground truth sampled every ``step_ns``: positions ``(T, 2)`` ENU m, yaw ``(T,)`` rad."""

    stamps_ns: np.ndarray
    xy_enu_m: np.ndarray
    yaw_rad: np.ndarray
    speed_mps: float


def make_drive(
    duration_s: float = 30.0,
    speed_mps: float = 10.0,
    yaw_rate_radps: float = 0.0,
    yaw0_rad: float = 0.3,
    step_s: float = 0.1,
) -> Drive:
    """A constant-speed drive on a straight line (yaw rate 0) or a circle arc."""
    t = np.arange(0.0, duration_s + 1e-9, step_s)
    yaw = yaw0_rad + yaw_rate_radps * t
    # integrate exactly for a circle, linearly for a straight line
    if abs(yaw_rate_radps) < 1e-12:
        xy = np.stack([np.cos(yaw0_rad) * speed_mps * t, np.sin(yaw0_rad) * speed_mps * t], 1)
    else:
        r = speed_mps / yaw_rate_radps
        x = r * (np.sin(yaw) - np.sin(yaw0_rad))
        y = -r * (np.cos(yaw) - np.cos(yaw0_rad))
        xy = np.stack([x, y], 1)
    yaw = (yaw + np.pi) % (2 * np.pi) - np.pi
    return Drive((np.round(t * NS)).astype(np.int64), xy, yaw, speed_mps)


def make_grid(
    center_enu_m: np.ndarray,
    peak_enu_m: np.ndarray,
    rng: np.random.Generator,
    n: int = 32,
    cell_m: float = 2.28,
    peak_sigma_m: float = 1.5,
    noise: float = 0.02,
) -> tuple[np.ndarray, np.ndarray]:
    """A network-like grid belief on an ``n x n`` tile centred at ``center_enu_m``.

    Returns ``points (n*n, 2)`` refined cell positions (row 0 = north edge, row-major) pointing at
    the peak where possible, and ``probs (n*n,)`` concentrated around ``peak_enu_m``.
    """
    half = n * cell_m / 2
    rows, cols = np.meshgrid(np.arange(n), np.arange(n), indexing='ij')
    east = center_enu_m[0] - half + (cols + 0.5) * cell_m
    north = center_enu_m[1] + half - (rows + 0.5) * cell_m
    pts = np.stack([east.ravel(), north.ravel()], 1)
    # refined offsets pull each cell point towards the peak, but stay inside the cell
    pull = np.clip(peak_enu_m[None, :] - pts, -0.49 * cell_m, 0.49 * cell_m)
    pts = pts + pull
    d2 = np.sum((pts - peak_enu_m[None, :]) ** 2, axis=1)
    logits = -0.5 * d2 / peak_sigma_m**2 + noise * rng.standard_normal(n * n)
    p = np.exp(logits - logits.max())
    return pts, p / p.sum()


@dataclass
class RunResult:
    """Errors of one synthetic run (metres, radians), after ``settle_s``."""

    raw_gnss_err_m: float
    filter_err_m: float
    yaw_err_rad: float
    final_yaw_err_rad: float


def wrapped(angle_rad: float) -> float:
    return float((angle_rad + np.pi) % (2 * np.pi) - np.pi)


def run_drive(
    pf,
    drive: Drive,
    seed: int,
    use_grid: bool,
    gnss_sigma_m: float = 3.0,
    gnss_every: int = 10,
    grid_every: int = 5,
    settle_s: float = 10.0,
) -> RunResult:
    """Feed GNSS (every ``gnss_every`` steps) and grid frames near the truth to ``pf``."""
    rng = np.random.default_rng(seed)
    raw, err, yaw_err = [], [], []
    for i, (t, xy) in enumerate(zip(drive.stamps_ns, drive.xy_enu_m)):
        t = int(t)
        if i % gnss_every == 0:
            z = xy + gnss_sigma_m * rng.standard_normal(2)
            pf.update_gnss(t, z, np.eye(2) * gnss_sigma_m**2)
            if t >= settle_s * NS:
                raw.append(float(np.hypot(*(z - xy))))
        if use_grid and i % grid_every == 0:
            center = np.round(xy / 20.0) * 20.0  # grid-snapped tile
            pts, p = make_grid(center, xy + 1.0 * rng.standard_normal(2), rng)
            pf.update_grid(t, pts, p, 2.28)
        pf.predict(t)
        if t >= settle_s * NS:
            est = pf.estimate()
            err.append(float(np.hypot(*(est.xy_enu_m - xy))))
            yaw_err.append(abs(wrapped(est.yaw_rad - drive.yaw_rad[i])))
    return RunResult(
        float(np.mean(raw)), float(np.mean(err)), float(np.mean(yaw_err)), yaw_err[-1]
    )
