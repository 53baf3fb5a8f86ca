"""Arc-length helpers for 2D polylines in ENU metres (``(N, 2)`` arrays)."""

from __future__ import annotations

import numpy as np


def arclength(points_m: np.ndarray) -> np.ndarray:
    """``(N,)`` cumulative distance along the polyline from its first point, metres."""
    seg = np.linalg.norm(np.diff(points_m, axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(seg)])


def resample(points_m: np.ndarray, step_m: float) -> np.ndarray:
    """Points at equal arc-length spacing ``step_m`` (the last point is kept)."""
    s = arclength(points_m)
    s_new = np.append(np.arange(0.0, s[-1], step_m), s[-1])
    return np.stack([np.interp(s_new, s, points_m[:, i]) for i in range(2)], axis=1)


def tangents(points_m: np.ndarray) -> np.ndarray:
    """``(N, 2)`` unit tangent (direction of travel) at every point."""
    d = np.gradient(points_m, axis=0)
    return d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)


def left_normals(points_m: np.ndarray) -> np.ndarray:
    """``(N, 2)`` unit normal pointing to the left of the direction of travel."""
    t = tangents(points_m)
    return np.stack([-t[:, 1], t[:, 0]], axis=1)


def offset(points_m: np.ndarray, left_m: float | np.ndarray) -> np.ndarray:
    """The polyline shifted sideways by ``left_m`` (negative: to the right)."""
    return points_m + left_normals(points_m) * np.asarray(left_m, np.float64).reshape(-1, 1)


def cut(points_m: np.ndarray, s0_m: float, s1_m: float, step_m: float = 0.5) -> np.ndarray:
    """The piece between arc lengths ``s0_m`` and ``s1_m`` (clipped to the polyline)."""
    s = arclength(points_m)
    s0, s1 = max(s0_m, 0.0), min(s1_m, s[-1])
    if s1 <= s0:
        return np.empty((0, 2))
    s_new = np.append(np.arange(s0, s1, step_m), s1)
    return np.stack([np.interp(s_new, s, points_m[:, i]) for i in range(2)], axis=1)


def point_at(points_m: np.ndarray, s_m: float) -> tuple[np.ndarray, np.ndarray]:
    """``(point, unit tangent)`` at arc length ``s_m``."""
    s = arclength(points_m)
    i = int(np.clip(np.searchsorted(s, s_m) - 1, 0, len(s) - 2))
    d = points_m[i + 1] - points_m[i]
    t = d / max(np.linalg.norm(d), 1e-12)
    p = np.array([np.interp(s_m, s, points_m[:, k]) for k in range(2)])
    return p, t


def rect_polygon(
    center_m: np.ndarray, along: np.ndarray, length_m: float, width_m: float
) -> np.ndarray:
    """``(4, 2)`` corners of a rectangle with its long side ``length_m`` along unit ``along``."""
    a = np.asarray(along, np.float64) / np.linalg.norm(along)
    n = np.array([-a[1], a[0]])
    hl, hw = a * length_m / 2, n * width_m / 2
    c = np.asarray(center_m, np.float64)
    return np.stack([c - hl - hw, c + hl - hw, c + hl + hw, c - hl + hw])
