"""Value types passed between ``encode_satellite`` / ``step`` calls, and ``shift_hidden``.

Tensors only (NamedTuples), so the step can be traced/exported with the hidden state as explicit
inputs and outputs. Grid cells are in row-major order: token ``row * N + col``, row 0 is the
tile's north edge, row grows south and col grows east.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from cvseq_localizer.model.grid_shift import hidden_grid_n, shift_slices


class SatFeatures(NamedTuple):
    """Satellite branch output, computed once per tile (``encode_satellite``)."""

    tokens: Tensor  # [B, N^2, D] projected, N x N pooled satellite tokens
    pos: Tensor  # [1, N^2, D] sine position encoding of the N x N grid


class HiddenState(NamedTuple):
    """TAM hidden state ``h^{t-1}`` on the current tile's grid, with a per-cell validity mask.

    Invalid cells (never seen, or shifted in from outside the previous tile) are replaced by the
    current frame's fusion feature at the next step; an all-invalid state means ``t = 0``.
    """

    state: Tensor  # [B, N^2, D] float
    valid: Tensor  # [B, N^2] bool

    @classmethod
    def empty(
        cls,
        batch: int,
        num_cells: int,
        dim: int,
        device: torch.device | str = 'cpu',
        dtype: torch.dtype = torch.float32,
    ) -> HiddenState:
        """An all-invalid state (the start of a sequence)."""
        return cls(
            torch.zeros(batch, num_cells, dim, device=device, dtype=dtype),
            torch.zeros(batch, num_cells, dtype=torch.bool, device=device),
        )


class StepOutput(NamedTuple):
    """One frame's prediction and the hidden state to pass to the next ``step``."""

    logits: Tensor  # [B, N^2] cell logits (softmax over the last dim gives cell probabilities)
    offsets: Tensor  # [B, N^2, 2] in-cell (row, col) offsets in [0, 1) from the top-left corner
    hidden: HiddenState


def shift_hidden(hidden: HiddenState, d_row: int, d_col: int) -> HiddenState:
    """Re-grid the hidden state after the tile centre moved by ``(d_row, d_col)`` whole cells.

    Cell ``(r, c)`` of the old grid becomes cell ``(r - d_row, c - d_col)`` of the new one (row
    grows south, col grows east). Cells entering the grid are zero and invalid; a shift of ``N``
    or more cells in either direction gives an all-invalid state.
    """
    state, valid = hidden
    n = hidden_grid_n(tuple(state.shape), tuple(valid.shape))
    slices = shift_slices(d_row, d_col, n)
    b, n2, dim = state.shape
    new_state = torch.zeros_like(state).view(b, n, n, dim)
    new_valid = torch.zeros_like(valid).view(b, n, n)
    if slices is not None:
        (src_r, src_c), (dst_r, dst_c) = slices
        new_state[:, dst_r, dst_c] = state.view(b, n, n, dim)[:, src_r, src_c]
        new_valid[:, dst_r, dst_c] = valid.view(b, n, n)[:, src_r, src_c]
    return HiddenState(new_state.view(b, n2, dim), new_valid.view(b, n2))
