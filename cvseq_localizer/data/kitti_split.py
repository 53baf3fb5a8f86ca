"""The paper's KITTI-CVL sequence split (pure numpy).

1. Keep a frame every ``step_m`` metres of travelled distance.
2. From a start frame ``s0`` extend until the straight-line distance ``|s0 sx|`` exceeds
   ``window_m``; ``[s0, sx]`` (inclusive) is a sequence.
3. The next sequence starts at the midpoint frame of ``[s0, sx]`` (index ``len // 2``).
4. Sequences with fewer than ``min_frames`` frames are dropped.

``train.metrics.sequence_windows`` is not reused: it measures cumulative distance, excludes the
first frame beyond the window and starts the next window at half the distance; the paper's
dataset split uses the straight-line distance and includes ``sx``.
"""

from __future__ import annotations

import numpy as np

# Slack for float noise when the travelled distance is exactly a multiple of the step.
_EPS_M = 1e-6


def subsample_by_distance(distance_m: np.ndarray, step_m: float = 8.0) -> np.ndarray:
    """Indices of frames kept one every ``step_m`` metres.

    Frame 0 is kept; then each frame whose cumulative distance is at least ``step_m`` beyond the
    last kept frame's.

    Args:
        distance_m: ``[F]`` cumulative travelled distance (m), non-decreasing.
    """
    d = np.asarray(distance_m, np.float64)
    if d.size == 0:
        return np.zeros(0, np.int64)
    kept = [0]
    for i in range(1, d.size):
        if d[i] - d[kept[-1]] >= step_m - _EPS_M:
            kept.append(i)
    return np.asarray(kept, np.int64)


def split_sequences(
    xy_m: np.ndarray, window_m: float = 50.0, min_frames: int = 6
) -> list[np.ndarray]:
    """Sequences (index arrays into ``xy_m``) of the paper's split.

    Args:
        xy_m: ``[K, 2]`` positions (east, north) in metres of the subsampled frames.
    """
    xy = np.asarray(xy_m, np.float64)
    out, start = [], 0
    while start < len(xy):
        dist = np.hypot(*(xy[start:] - xy[start]).T)
        beyond = np.flatnonzero(dist > window_m)
        end = start + int(beyond[0]) if beyond.size else len(xy) - 1
        seq = np.arange(start, end + 1)
        if len(seq) >= min_frames:
            out.append(seq)
        if not beyond.size:
            break
        start = int(seq[len(seq) // 2])
    return out


def cumulative_distance(xy_m: np.ndarray) -> np.ndarray:
    """``[F]`` cumulative 2-D path length (m) of ``[F, 2]`` positions, starting at 0."""
    steps = np.hypot(*np.diff(np.asarray(xy_m, np.float64), axis=0).T)
    return np.concatenate([[0.0], np.cumsum(steps)])
