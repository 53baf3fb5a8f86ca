"""Prediction heads (3-layer MLPs) and decoding of their output into satellite pixels.

Offsets are ordered ``(row, col)`` = ``(ty, tx)``: the in-cell position measured from the cell's
top-left corner in cell units, in ``[0, 1)``. This is also the authors' channel order (their
loss builds targets ``(ty, tx)`` and decodes ``y = (row + ty) * 8, x = (col + tx) * 8``).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cvseq_localizer.model.fusion import xavier_init_


class MLP(nn.Module):
    """``num_layers`` Linear layers with ReLU between them (DETR's MLP; keys ``layers.i``)."""

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int, num_layers: int = 3) -> None:
        super().__init__()
        dims = [in_dim] + [hidden_dim] * (num_layers - 1) + [out_dim]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        xavier_init_(self)

    def forward(self, x: Tensor) -> Tensor:
        """``[..., in_dim]`` -> ``[..., out_dim]``."""
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.relu(x)
        return x


class Decoded(NamedTuple):
    """Decoded network output; pixel coordinates are corner-based ``(x, y)`` = ``(col, row)``
    in the satellite *input* image (``S x S`` px); leading dims ``...`` as the logits'."""

    xy_px: Tensor  # [..., 2] refined position of the most likely cell
    cell: Tensor  # [...] int64 index of the most likely cell (row * N + col)
    prob: Tensor  # [..., N, N] softmax over cells; row 0 is the tile's north edge
    cell_xy_px: Tensor  # [..., N, N, 2] refined position inside every cell


def decode(logits: Tensor, offsets: Tensor, cell_px: float) -> Decoded:
    """Turn ``logits [..., N^2]`` and ``offsets [..., N^2, 2]`` (row, col) into pixels.

    ``cell_px`` is the cell side in satellite input pixels (``S / N``); the position of cell
    ``(row, col)`` is ``x = (col + t_col) * cell_px``, ``y = (row + t_row) * cell_px``.
    """
    n2 = logits.shape[-1]
    n = int(round(n2**0.5))
    if n * n != n2 or offsets.shape != (*logits.shape, 2):
        raise ValueError(
            f'decode needs logits [..., N^2] and offsets [..., N^2, 2], got '
            f'{tuple(logits.shape)} and {tuple(offsets.shape)}'
        )
    rows = torch.arange(n, device=logits.device).repeat_interleave(n).to(offsets.dtype)
    cols = torch.arange(n, device=logits.device).repeat(n).to(offsets.dtype)
    x = (cols + offsets[..., 1]) * cell_px
    y = (rows + offsets[..., 0]) * cell_px
    cell_xy = torch.stack([x, y], dim=-1)  # [..., N^2, 2]
    cell = logits.argmax(dim=-1)
    index = cell[..., None, None].expand(*cell.shape, 1, 2)
    xy = torch.gather(cell_xy, -2, index).squeeze(-2)
    prob = logits.softmax(dim=-1)
    lead = logits.shape[:-1]
    return Decoded(xy, cell, prob.reshape(*lead, n, n), cell_xy.reshape(*lead, n, n, 2))
