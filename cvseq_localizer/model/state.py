"""Value types passed between ``encode_satellite`` / ``step`` calls, and ``shift_hidden``.

Tensors only (NamedTuples), so the step can be traced/exported with the hidden state as explicit
inputs and outputs. Grid cells are in row-major order: token ``row * N + col``, row 0 is the
tile's north edge, row grows south and col grows east.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor


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
    if int(d_row) != d_row or int(d_col) != d_col:
        raise ValueError(f'shift ({d_row}, {d_col}) must be whole cells')
    d_row, d_col = int(d_row), int(d_col)
    state, valid = hidden
    b, n2, dim = state.shape
    n = int(round(n2**0.5))
    if n * n != n2 or valid.shape != (b, n2):
        raise ValueError(
            f'hidden state needs state [B, N^2, D] and valid [B, N^2], got '
            f'{tuple(state.shape)} and {tuple(valid.shape)}'
        )
    new_state = torch.zeros_like(state).view(b, n, n, dim)
    new_valid = torch.zeros_like(valid).view(b, n, n)
    if abs(d_row) < n and abs(d_col) < n:
        src_r, dst_r = _ranges(d_row, n)
        src_c, dst_c = _ranges(d_col, n)
        new_state[:, dst_r, dst_c] = state.view(b, n, n, dim)[:, src_r, src_c]
        new_valid[:, dst_r, dst_c] = valid.view(b, n, n)[:, src_r, src_c]
    return HiddenState(new_state.view(b, n2, dim), new_valid.view(b, n2))


def _ranges(shift: int, n: int) -> tuple[slice, slice]:
    """Source and destination slices along one axis: new index = old index - shift."""
    if shift >= 0:
        return slice(shift, n), slice(0, n - shift)
    return slice(0, n + shift), slice(-shift, n)
