"""Turn :class:`SequenceSample` lists into model-ready tensors and labels."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from cvseq_localizer.data.sample import SequenceSample, grid_labels
from cvseq_localizer.model.config import ModelConfig
from cvseq_localizer.runtime.preprocess import preprocess_ground, preprocess_satellite


class Batch(NamedTuple):
    """A training batch.

    ground ``[B, T, 3, H, W]``, sat ``[B, 3, S, S]`` (normalised float32), cells ``[B, T]`` int64,
    offsets ``[B, T, 2]`` (row, col), xy_px ``[B, T, 2]`` true (x, y) in model satellite pixels,
    metres_per_px ``[B]`` (of the model's satellite input).
    """

    ground: Tensor
    sat: Tensor
    cells: Tensor
    offsets: Tensor
    xy_px: Tensor
    metres_per_px: Tensor


def collate(samples: list[SequenceSample], config: ModelConfig, frames: int | None = None):
    """Preprocess with the model's sizes/normalisation; truncate sequences to ``frames``."""
    t = min(len(s.ground) for s in samples)
    t = min(t, frames) if frames else t
    size, n = config.sat_size, config.grid_size
    ground, sat, cells, offs, xy, mpp = [], [], [], [], [], []
    for s in samples:
        ground.append(np.concatenate([
            preprocess_ground(g, config.ground_size, config.mean, config.std) for g in s.ground[:t]
        ]))  # fmt: skip
        sat.append(preprocess_satellite(s.sat, size, config.mean, config.std)[0])
        scale = size / s.sat.shape[0]
        uv = np.asarray(s.uv_px[:t], np.float64) * scale
        c, o = grid_labels(uv, size, n)
        cells.append(c)
        offs.append(o)
        xy.append(uv)
        mpp.append(s.metres_per_px / scale)
    return Batch(
        torch.from_numpy(np.stack(ground)),
        torch.from_numpy(np.stack(sat)),
        torch.from_numpy(np.stack(cells)),
        torch.from_numpy(np.stack(offs)).float(),
        torch.from_numpy(np.stack(xy)).float(),
        torch.tensor(mpp, dtype=torch.float32),
    )
