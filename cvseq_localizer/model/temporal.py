"""Temporal Attention Module (TAM), paper Sec. III-B/C, equations (1)-(3).

    Q_f = W_Q F_f^t,   K_h = W_K h^{t-1},   V_h = W_V h^{t-1}                       (2)
    F_tem = softmax((Q_f + E_pos)^T (K_h + E_pos)) V_h   (multi-head, 1/sqrt(d) scaled) (3)
    F^_f^t = FFN(F_f^t + F_tem),   h^t = F^_f^t;   h^0 = F_f^0                          (1)

``E_pos`` is the satellite grid's sine encoding (F_f and h both have one token per cell).
Post-norm as the rest of the fusion network: ``x = LN(F_f^t + Dropout(F_tem))``,
``F^_f^t = LN(x + Dropout(FFN(x)))``. The paper does not spell out the norms nor the FFN
residual; they keep the recurrent state bounded and match the authors' parameter layout
(``cross_attn``, ``FFN``, ``norm1``, ``norm2``).

Difference from the authors' public code: their ``TemporalAttentionLayer`` attends over the
*ground* tokens before fusion (previous frame's ground output as K/V) and replaces the residual
by ``attn_out + dropout(attn_out)``, dropping the current feature. We follow the paper, so their
``temporal_attn.*`` weights are not importable (see ``authors.py``).
"""

from __future__ import annotations

from torch import Tensor, nn

from cvseq_localizer.model.fusion import AttentionBlock, FFNBlock, xavier_init_


class TemporalAttention(nn.Module):
    """TAM: queries from the current fusion feature, keys/values from the hidden state."""

    def __init__(self, dim: int, num_heads: int, ffn_dim: int, dropout: float) -> None:
        super().__init__()
        self.cross = AttentionBlock(dim, num_heads, dropout)
        self.ffn = FFNBlock(dim, ffn_dim, dropout)
        xavier_init_(self)

    def forward(self, fused: Tensor, *, hidden: Tensor, pos: Tensor) -> Tensor:
        """``fused`` F_f^t ``[B, N^2, D]``, ``hidden`` h^{t-1} ``[B, N^2, D]``, ``pos``
        ``[1, N^2, D]`` -> h^t ``[B, N^2, D]``."""
        x = self.cross(fused, x_pos=pos, memory=hidden, memory_pos=pos)
        return self.ffn(x)
