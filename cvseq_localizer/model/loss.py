"""Training objective (paper Sec. III-D, eq. 4-6): per-frame cross-entropy over the N^2 cells
plus MSE of the in-cell offset at the ground-truth cell, averaged over the sequence."""

from __future__ import annotations

from typing import NamedTuple

import torch.nn.functional as F
from torch import Tensor


class LossParts(NamedTuple):
    """Scalar losses: ``total = cls_weight * cls + mse_weight * mse``."""

    total: Tensor
    cls: Tensor  # mean cross-entropy over batch and frames (nats)
    mse: Tensor  # mean squared offset error at the true cell (cell units^2, per component)


def sequence_loss(
    logits: Tensor,
    offsets: Tensor,
    target_cell: Tensor,
    target_offset: Tensor,
    cls_weight: float = 1.0,
    mse_weight: float = 1.0,
) -> LossParts:
    """Sequence loss of ``logits [B, T, N^2]`` and ``offsets [B, T, N^2, 2]`` (row, col).

    ``target_cell [B, T]`` int64 cell index ``row * N + col``; ``target_offset [B, T, 2]`` the
    true in-cell (row, col) offset in ``[0, 1)``. Both terms are averaged over ``B * T`` frames
    (the offset MSE also over its 2 components), as eq. (6) with the authors' weights 1/1.
    """
    b, t, n2 = logits.shape
    if offsets.shape != (b, t, n2, 2) or target_cell.shape != (b, t):
        raise ValueError(
            f'sequence_loss shapes: logits {tuple(logits.shape)}, offsets '
            f'{tuple(offsets.shape)}, target_cell {tuple(target_cell.shape)}'
        )
    if target_offset.shape != (b, t, 2):
        raise ValueError(f'target_offset must be [B, T, 2], got {tuple(target_offset.shape)}')
    cell = target_cell.long()
    if cell.min() < 0 or cell.max() >= n2:
        raise ValueError(
            f'target_cell values must be in [0, {n2}), got {cell.min()}..{cell.max()}'
        )
    cls = F.cross_entropy(logits.reshape(b * t, n2), cell.reshape(-1))
    index = cell[..., None, None].expand(b, t, 1, 2)
    pred = offsets.gather(2, index).squeeze(2)  # [B, T, 2]
    mse = F.mse_loss(pred, target_offset.to(pred.dtype))
    return LossParts(cls_weight * cls + mse_weight * mse, cls, mse)
