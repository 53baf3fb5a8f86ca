"""Tile geometry for the grid likelihood: which particles lie on the satellite tile.

The tile is the convex hull of the refined cell positions grown by half a cell. The hull is
found from support points in a fan of directions (vectorised; exact for the corner points of
an N x N grid), the inside test is a signed distance to every hull edge.
"""

from __future__ import annotations

import numpy as np

_DIRECTIONS = 32


def hull_vertices(points_enu_m: np.ndarray) -> np.ndarray:
    """``(H, 2)`` convex-hull vertices of ``(K, 2)`` points, counter-clockwise (H may be < 3)."""
    ang = np.linspace(0.0, 2.0 * np.pi, _DIRECTIONS, endpoint=False)
    dirs = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    idx = np.argmax(points_enu_m @ dirs.T, axis=0)
    keep = np.ones(idx.shape[0], bool)
    keep[1:] = idx[1:] != idx[:-1]
    idx = idx[keep]
    if idx.shape[0] > 1 and idx[0] == idx[-1]:
        idx = idx[:-1]
    return points_enu_m[idx]


def inside_tile(xy_enu_m: np.ndarray, points_enu_m: np.ndarray, margin_m: float) -> np.ndarray:
    """``(M,)`` mask: particle lies inside the hull of ``points_enu_m`` grown by ``margin_m``.

    A degenerate hull (fewer than 3 vertices) falls back to the grown bounding box.
    """
    verts = hull_vertices(points_enu_m)
    if verts.shape[0] < 3:
        lo = points_enu_m.min(axis=0) - margin_m
        hi = points_enu_m.max(axis=0) + margin_m
        return np.all((xy_enu_m >= lo) & (xy_enu_m <= hi), axis=1)
    edges = np.roll(verts, -1, axis=0) - verts
    normals = np.stack([edges[:, 1], -edges[:, 0]], axis=1)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    offsets = np.sum(normals * verts, axis=1) + margin_m
    # explicit products instead of a (M, 2) @ (2, H) BLAS call: faster and thread-free
    dist = xy_enu_m[:, 0:1] * normals[None, :, 0] + xy_enu_m[:, 1:2] * normals[None, :, 1]
    return np.all(dist <= offsets[None, :], axis=1)
