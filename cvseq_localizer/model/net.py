"""``CrossViewSeqNet``: cross-view sequential localization network (paper Sec. III).

Two ResNet trunks (not shared) -> 1x1 projections C -> D -> fusion transformer giving ``F_f``
(one token per satellite grid cell) -> Temporal Attention Module over the hidden state ->
3-layer MLP heads (cell logit, sigmoid in-cell offset). With ``config.temporal = False`` it is the
single-image WACV'24 baseline (CVLocationTrans).

Online use::

    model = build_model(ModelConfig.preset('small')).eval()
    sat_feats = model.encode_satellite(sat)          # once per tile
    out = model.step(ground, sat_feats, None)        # t = 0: h^0 = F_f^0
    out = model.step(ground2, sat_feats, out.hidden)  # t > 0: h^t = TAM(F_f^t, h^{t-1})
    decoded = model.decode(out.logits, out.offsets)  # satellite input pixels

Inputs are normalised RGB: ``(rgb / 255 - config.mean) / config.std``.
"""

from __future__ import annotations

import logging

import torch
from torch import Tensor, nn

from cvseq_localizer.model.backbone import build_backbone
from cvseq_localizer.model.config import FEATURE_STRIDE, ModelConfig
from cvseq_localizer.model.fusion import FusionTransformer
from cvseq_localizer.model.heads import MLP, Decoded, decode
from cvseq_localizer.model.position import sine_position_encoding
from cvseq_localizer.model.state import HiddenState, SatFeatures, StepOutput, shift_hidden
from cvseq_localizer.model.temporal import TemporalAttention

logger = logging.getLogger(__name__)


def build_model(config: ModelConfig) -> CrossViewSeqNet:
    """The one place that turns a ``ModelConfig`` into a network (randomly initialised)."""
    return CrossViewSeqNet(config)


class CrossViewSeqNet(nn.Module):
    """Cross-view sequential network; see the module docstring for the call sequence."""

    shift_hidden = staticmethod(shift_hidden)

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        cfg = config
        self.config = cfg
        d = cfg.feature_dim
        self.sat_backbone = build_backbone(cfg.backbone, cfg.backbone_width, cfg.backbone_blocks)
        self.ground_backbone = build_backbone(
            cfg.backbone, cfg.backbone_width, cfg.backbone_blocks
        )
        c = self.sat_backbone.out_channels
        self.sat_proj = nn.Conv2d(c, d, kernel_size=1)
        self.ground_proj = nn.Conv2d(c, d, kernel_size=1)
        pool = nn.AdaptiveAvgPool2d if cfg.sat_pool == 'avg' else nn.AdaptiveMaxPool2d
        self.sat_pool = pool(cfg.grid_size)
        self.fusion = FusionTransformer(
            d, cfg.num_heads, cfg.ffn_dim, cfg.dropout, cfg.num_fusion_layers
        )
        self.temporal = (
            TemporalAttention(d, cfg.num_heads, cfg.ffn_dim, cfg.dropout) if cfg.temporal else None
        )
        self.location_head = MLP(d, d, 1, num_layers=3)
        self.coordinator_head = MLP(d, d, 2, num_layers=3)
        n = cfg.grid_size
        pe = sine_position_encoding(n, n, d, cfg.pe_temperature)
        self.register_buffer('sat_pos', pe[None], persistent=False)  # [1, N^2, D]
        hg, wg = (-(-s // FEATURE_STRIDE) for s in cfg.ground_size)
        pe = sine_position_encoding(hg, wg, d, cfg.pe_temperature)
        self.register_buffer('ground_pos', pe[None], persistent=False)  # [1, Hg*Wg, D]

    # ------------------------------------------------------------------------------ branches
    def encode_satellite(self, sat: Tensor) -> SatFeatures:
        """Satellite branch, run once per tile.

        ``sat [B, 3, S, S]`` normalised RGB, north-up, ``S = config.sat_size`` ->
        ``SatFeatures(tokens [B, N^2, D], pos [1, N^2, D])``.
        """
        s = self.config.sat_size
        _check_image('satellite', sat, (s, s))
        feat = self.sat_pool(self.sat_proj(self.sat_backbone(sat)))  # [B, D, N, N]
        return SatFeatures(feat.flatten(2).transpose(1, 2), self.sat_pos)

    def encode_ground(self, ground: Tensor) -> Tensor:
        """``ground [B, 3, H, W]`` (``config.ground_size``) -> tokens ``[B, Hg*Wg, D]``."""
        _check_image('ground', ground, tuple(self.config.ground_size))
        feat = self.ground_proj(self.ground_backbone(ground))
        return feat.flatten(2).transpose(1, 2)

    def fuse(self, sat_tokens: Tensor, ground_tokens: Tensor) -> Tensor:
        """Fusion feature ``F_f [B, N^2, D]`` from ``sat [B, N^2, D]``, ``ground [B, L, D]``."""
        return self.fusion(
            sat_tokens, ground_tokens, sat_pos=self.sat_pos, ground_pos=self.ground_pos
        )

    def update_hidden(self, fused: Tensor, state: Tensor, valid: Tensor) -> Tensor:
        """h^t from ``fused`` F_f^t ``[B, N^2, D]`` and h^{t-1} = ``(state, valid)``.

        Invalid cells of h^{t-1} take F_f^t; items with no valid cell (t = 0) get
        ``h^t = F_f^t``, the others ``TAM(F_f^t, h^{t-1})``. No Python branching on tensor
        values (exportable). Baseline mode (no TAM): ``h^t = F_f^t``.
        """
        if self.temporal is None:
            return fused
        prev = torch.where(valid.unsqueeze(-1), state, fused)
        out = self.temporal(fused, hidden=prev, pos=self.sat_pos)
        started = valid.any(dim=1).view(-1, 1, 1)
        return torch.where(started, out, fused)

    def heads(self, h: Tensor) -> tuple[Tensor, Tensor]:
        """``h [..., N^2, D]`` -> ``logits [..., N^2]``, ``offsets [..., N^2, 2]`` (row, col)."""
        return self.location_head(h).squeeze(-1), self.coordinator_head(h).sigmoid()

    # ---------------------------------------------------------------------------- online API
    def step_tensors(
        self, ground: Tensor, sat_tokens: Tensor, state: Tensor, valid: Tensor
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Tensor-only step for tracing/ONNX export.

        ``ground [B, 3, H, W]``, ``sat_tokens [B, N^2, D]``, ``state [B, N^2, D]``,
        ``valid [B, N^2] bool`` -> ``logits [B, N^2]``, ``offsets [B, N^2, 2]``,
        ``new_state [B, N^2, D]``, ``new_valid [B, N^2] bool`` (all True).
        """
        fused = self.fuse(sat_tokens, self.encode_ground(ground))
        h = self.update_hidden(fused, state, valid)
        logits, offsets = self.heads(h)
        return logits, offsets, h, torch.ones_like(valid)

    def step(
        self, ground: Tensor, sat_feats: SatFeatures, hidden: HiddenState | None
    ) -> StepOutput:
        """One camera frame: ``ground [B, 3, H, W]`` normalised, ``sat_feats`` of the current
        tile, ``hidden`` from the previous step (re-gridded with ``shift_hidden`` after a tile
        change) or None at the start -> ``StepOutput(logits, offsets, hidden)``."""
        tokens = sat_feats.tokens
        if hidden is None:
            hidden = HiddenState.empty(*tokens.shape, device=tokens.device, dtype=tokens.dtype)
        _check_hidden(hidden, tokens)
        logits, offsets, state, valid = self.step_tensors(ground, tokens, *hidden)
        return StepOutput(logits, offsets, HiddenState(state, valid))

    def decode(self, logits: Tensor, offsets: Tensor) -> Decoded:
        """Most likely position ``xy_px`` and the N x N map in satellite input pixels."""
        return decode(logits, offsets, self.config.cell_px)

    # ------------------------------------------------------------------------------ training
    def forward(self, ground_seq: Tensor, sat: Tensor) -> tuple[Tensor, Tensor]:
        """Sequence forward for training, equal to ``step`` frame by frame from ``None``.

        ``ground_seq [B, T, 3, H, W]``, ``sat [B, 3, S, S]`` (one tile per sequence) ->
        ``logits [B, T, N^2]``, ``offsets [B, T, N^2, 2]``. Backbones and fusion run batched
        over all frames; only the TAM recursion loops over T.
        """
        if ground_seq.dim() != 5:
            raise ValueError(f'ground_seq must be [B, T, 3, H, W], got {tuple(ground_seq.shape)}')
        b, t = ground_seq.shape[:2]
        sat_tokens = self.encode_satellite(sat).tokens
        ground = self.encode_ground(ground_seq.flatten(0, 1))  # [B*T, L, D]
        fused = self.fuse(sat_tokens.repeat_interleave(t, dim=0), ground)
        fused = fused.view(b, t, *fused.shape[1:])
        valid = torch.ones(b, fused.shape[2], dtype=torch.bool, device=fused.device)
        hs = [fused[:, 0]]  # h^0 = F_f^0 (what update_hidden gives for an all-invalid state)
        for i in range(1, t):
            hs.append(self.update_hidden(fused[:, i], hs[-1], valid))
        return self.heads(torch.stack(hs, dim=1))


def _check_image(name: str, image: Tensor, size: tuple[int, int]) -> None:
    if image.dim() != 4 or image.shape[1] != 3 or tuple(image.shape[2:]) != tuple(size):
        raise ValueError(
            f'{name} image must be [B, 3, {size[0]}, {size[1]}] (normalised RGB), '
            f'got {tuple(image.shape)}'
        )


def _check_hidden(hidden: HiddenState, tokens: Tensor) -> None:
    state, valid = hidden
    if state.shape != tokens.shape or valid.shape != tokens.shape[:2]:
        raise ValueError(
            f'hidden state [B, N^2, D] = {tuple(state.shape)} / valid {tuple(valid.shape)} '
            f'does not match satellite tokens {tuple(tokens.shape)}'
        )
    if valid.dtype != torch.bool:
        raise ValueError(f'hidden.valid must be bool, got {valid.dtype}')
