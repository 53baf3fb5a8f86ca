"""2D sinusoidal position encoding (as in LoFTR and the authors' code).

For a feature map of ``height x width`` cells, cell ``(row, col)`` has positions
``x = col + 1`` and ``y = row + 1`` (positions start at 1). With ``D`` channels and frequencies
``w_i = temperature ** (-4 i / D)`` for ``i = 0 .. D/4 - 1``, the channels are interleaved:

    pe[4i] = sin(x w_i),  pe[4i+1] = cos(x w_i),  pe[4i+2] = sin(y w_i),  pe[4i+3] = cos(y w_i)

The encoding is added to attention queries and keys only, never to values (DETR).
"""

from __future__ import annotations

import torch
from torch import Tensor


def sine_position_encoding(
    height: int, width: int, dim: int, temperature: float = 10000.0
) -> Tensor:
    """Position encoding of a ``height x width`` grid as ``[height * width, dim]`` tokens.

    Tokens are in row-major order (token ``row * width + col``), matching
    ``feature_map.flatten(2).transpose(1, 2)``. ``dim`` must be divisible by 4.
    """
    if dim % 4 or dim <= 0:
        raise ValueError(f'position encoding dim {dim} must be a positive multiple of 4')
    if height < 1 or width < 1:
        raise ValueError(f'position encoding grid {height}x{width} must be non-empty')
    freqs = temperature ** (-4.0 * torch.arange(dim // 4, dtype=torch.float64) / dim)
    rows, cols = torch.meshgrid(
        torch.arange(1, height + 1, dtype=torch.float64),
        torch.arange(1, width + 1, dtype=torch.float64),
        indexing='ij',
    )
    x = cols.reshape(-1, 1) * freqs  # [H*W, D/4]
    y = rows.reshape(-1, 1) * freqs
    pe = torch.stack([x.sin(), x.cos(), y.sin(), y.cos()], dim=-1)  # [H*W, D/4, 4]
    return pe.reshape(height * width, dim).to(torch.float32)
