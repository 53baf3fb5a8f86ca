"""Cross-view fusion transformer (WACV'24 CVLocationTrans, kept by the paper, Sec. III-A.2).

Post-norm blocks with explicit keyword arguments; position encodings go into queries and keys,
never values. Per fusion layer (x M):

    sat    = LN(sat + SelfAttn(q=sat+Ps, k=sat+Ps, v=sat))
    ground = LN(ground + SelfAttn(q=ground+Pg, k=ground+Pg, v=ground))
    sat    = LN(sat + CrossAttn(q=sat+Ps, k=ground+Pg, v=ground))
    sat    = LN(sat + FFN(sat))
    ground = LN(ground + CrossAttn(q=ground+Pg, k=sat+Ps, v=sat))
    ground = LN(ground + FFN(ground))

then a final ``sat <- ground`` cross-attention + FFN block and a LayerNorm, giving the fusion
feature ``F_f`` with one token per satellite grid cell. Shapes: ``sat [B, N^2, D]``,
``ground [B, L, D]`` (``L = Hg * Wg`` ground tokens), position encodings broadcastable to them.
"""

from __future__ import annotations

from torch import Tensor, nn


def xavier_init_(module: nn.Module) -> None:
    """Xavier-uniform init of every parameter with more than one dimension (as the authors)."""
    for p in module.parameters():
        if p.dim() > 1:
            nn.init.xavier_uniform_(p)


class AttentionBlock(nn.Module):
    """``x = LN(x + Dropout(MHA(q=x + x_pos, k=memory + memory_pos, v=memory)))``."""

    def __init__(self, dim: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, num_heads, dropout=dropout, batch_first=True)
        self.norm = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, *, x_pos: Tensor, memory: Tensor, memory_pos: Tensor) -> Tensor:
        """``x [B, Lq, D]``, ``memory [B, Lk, D]`` (positions broadcastable) -> ``[B, Lq, D]``."""
        out = self.attn(query=x + x_pos, key=memory + memory_pos, value=memory, need_weights=False)
        return self.norm(x + self.dropout(out[0]))


class FFNBlock(nn.Module):
    """``x = LN(x + Dropout(Linear(Dropout(ReLU(Linear(x))))))``, hidden width ``ffn_dim``."""

    def __init__(self, dim: int, ffn_dim: int, dropout: float) -> None:
        super().__init__()
        # Indices 0 and 3 hold the Linear layers, as the authors' ``FFN`` Sequential.
        self.net = nn.Sequential(
            nn.Linear(dim, ffn_dim), nn.ReLU(), nn.Dropout(dropout), nn.Linear(ffn_dim, dim)
        )
        self.norm = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        """``[B, L, D]`` -> ``[B, L, D]``."""
        return self.norm(x + self.dropout(self.net(x)))


class FusionLayer(nn.Module):
    """One SAB + CAB round: self-attention on each view, then cross-attention both ways."""

    def __init__(self, dim: int, num_heads: int, ffn_dim: int, dropout: float) -> None:
        super().__init__()
        self.self_sat = AttentionBlock(dim, num_heads, dropout)
        self.self_ground = AttentionBlock(dim, num_heads, dropout)
        self.cross_sat = AttentionBlock(dim, num_heads, dropout)
        self.ffn_sat = FFNBlock(dim, ffn_dim, dropout)
        self.cross_ground = AttentionBlock(dim, num_heads, dropout)
        self.ffn_ground = FFNBlock(dim, ffn_dim, dropout)

    def forward(
        self, sat: Tensor, ground: Tensor, *, sat_pos: Tensor, ground_pos: Tensor
    ) -> tuple[Tensor, Tensor]:
        """``sat [B, N^2, D]``, ``ground [B, L, D]`` -> updated ``(sat, ground)``."""
        sat = self.self_sat(sat, x_pos=sat_pos, memory=sat, memory_pos=sat_pos)
        ground = self.self_ground(ground, x_pos=ground_pos, memory=ground, memory_pos=ground_pos)
        sat = self.cross_sat(sat, x_pos=sat_pos, memory=ground, memory_pos=ground_pos)
        sat = self.ffn_sat(sat)
        ground = self.cross_ground(ground, x_pos=ground_pos, memory=sat, memory_pos=sat_pos)
        ground = self.ffn_ground(ground)
        return sat, ground


class FusionTransformer(nn.Module):
    """M fusion layers, a final ``sat <- ground`` cross-attention + FFN block and a LayerNorm."""

    def __init__(
        self, dim: int, num_heads: int, ffn_dim: int, dropout: float, num_layers: int
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            FusionLayer(dim, num_heads, ffn_dim, dropout) for _ in range(num_layers)
        )
        self.final_cross = AttentionBlock(dim, num_heads, dropout)
        self.final_ffn = FFNBlock(dim, ffn_dim, dropout)
        self.final_norm = nn.LayerNorm(dim)
        xavier_init_(self)

    def forward(
        self, sat: Tensor, ground: Tensor, *, sat_pos: Tensor, ground_pos: Tensor
    ) -> Tensor:
        """``sat [B, N^2, D]``, ``ground [B, L, D]`` -> fusion feature ``F_f [B, N^2, D]``."""
        for layer in self.layers:
            sat, ground = layer(sat, ground, sat_pos=sat_pos, ground_pos=ground_pos)
        sat = self.final_cross(sat, x_pos=sat_pos, memory=ground, memory_pos=ground_pos)
        return self.final_norm(self.final_ffn(sat))
