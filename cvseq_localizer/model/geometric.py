"""``GeoLocNet``: the geometry-aware cross-view sequential network (the paper's structure with a
geometric ground branch).

Pipeline for one frame (shapes for the ``geo_small`` preset):

1. Ground branch: the camera frame is projected onto the ground plane with the camera model and
   rotated north-up by the filter's heading prior (``geo/bev.py``, numpy, done by the caller:
   ``bev [B, 3, 130, 130]`` at 0.5 m/px + ``mask``), then a small CNN extractor -> learned
   features at 1 m/px (``[B, C, 65, 65]``), L2-normalised per pixel, plus one explicit channel:
   the locally normalised grayscale (what masked NCC correlates).
2. Satellite branch: the same extractor design (own weights) on the 64 m / 128 px tile ->
   ``[B, C + 1, 64, 64]``, encoded once per tile (its FFT is cached in ``GeoSatFeatures``).
3. Cross-view matching: the BEV features are rotated by K candidate heading offsets around the
   prior (``grid_sample``, +-15 deg in 3 deg steps) and correlated with the tile at every 1 m
   position by FFT (exact full correlation for ~1/30 of the direct-convolution FLOPs), masked and
   normalised by the valid BEV area: a score volume ``[B, K, 64, 64]`` scaled by a learned
   temperature. The explicit grayscale channel makes masked NCC (the training-free reference) a
   special case of the model, so training starts from it and adds learned features.
4. Fusion feature ``F_f`` (one token per N x N cell, as the paper): per cell the log-probability
   of the cell (log-sum-exp over its 4x4 positions and the headings), ``log p(heading | cell)``
   (K values), the in-cell soft-argmax offset and the pooled satellite features, through an MLP
   to D. 5. TAM over the hidden state on the north-up tile lattice (``temporal.py``, unchanged,
   ``shift_hidden`` semantics). 6. Heads: classification logit = correlation cell logit + MLP(h)
   (zero-initialised residual), offset = sigmoid(logit(soft-argmax offset) + MLP(h)); heading
   probabilities = sum over cells of p(cell) p(heading | cell).

What we took from the published methods and what differs:
- HC-Net (NeurIPS'23): ground image -> BEV by a homography/IPM with the known camera, then
  correlation with the aerial features. Taken: fixed geometric IPM rather than a learned lift
  (also the BevSplat comparison: IPM generalises better across areas). Not taken: its iterative
  homography refinement (GRU on a correlation pyramid); our refinement is a soft-argmax inside
  the 4 m cell plus a learned residual, cheap enough for 15 ms on 2 CPU cores.
- OrienterNet (CVPR'23): exhaustive template matching of the BEV against the map over positions x
  rotations, a log-space probability volume, and sequential fusion. Taken: the rotated-template
  correlation volume, the log-sum-exp marginals over heading/position, losses on the volume.
  Differs: K=11 rotations in a +-15 deg window around the filter's heading (not 256 over 360 deg,
  the prior is good to ~8 deg), and the sequence is fused by the paper's TAM on the cell lattice
  (the particle filter plays OrienterNet's Markov filter).
- CCVPE (TPAMI'23): an orientation prior matters a lot; coarse cells with in-cell offsets. Taken:
  the heading window around the prior and the N x N cells + offsets output (as the paper).
  Differs: no descriptor-grid matching; the matching is explicit geometric correlation.

Online use::

    net = GeoLocNet(GeoConfig.preset('geo_small')).eval()
    feats = net.encode_satellite(sat)                  # once per tile
    out = net.step(bev, mask, feats, None)             # t = 0
    out = net.step(bev2, mask2, feats, out.hidden)     # t > 0 (TAM)
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cvseq_localizer.model.geo_config import GeoConfig
from cvseq_localizer.model.heads import MLP
from cvseq_localizer.model.position import sine_position_encoding
from cvseq_localizer.model.state import HiddenState, shift_hidden
from cvseq_localizer.model.temporal import TemporalAttention


class GeoSatFeatures(NamedTuple):
    """Satellite branch output, computed once per tile."""

    spectrum: Tensor  # [B, F, K, C+1] rFFT (F = P * (P//2+1) freqs) of the features rotated
    # by -delta_k (zero-padded to P x P), laid out for one batched matmul per frame
    cells: Tensor  # [B, N^2, C+1] features average-pooled per cell


class GeoStepOutput(NamedTuple):
    """One frame: cell logits/offsets as ``StepOutput`` plus the heading evidence."""

    logits: Tensor  # [B, N^2]
    offsets: Tensor  # [B, N^2, 2] in-cell (row, col) in [0, 1) from the cell's top-left
    heading_prob: Tensor  # [B, K] probability of each candidate heading offset
    hidden: HiddenState


class GeoVolume(NamedTuple):
    """Training outputs over a sequence (``[B, T, ...]``)."""

    logits: Tensor  # [B, T, N^2]
    offsets: Tensor  # [B, T, N^2, 2]
    fine: Tensor  # [B, T, K, Hs, Ws] score-volume logits (1 m positions x headings)
    heading_prob: Tensor  # [B, T, K]


def _conv_bn(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, dilation, dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class Extractor(nn.Module):
    """RGB + validity mask (4 channels) -> ``channels`` features at stride 2."""

    def __init__(self, width: int, channels: int) -> None:
        super().__init__()
        half = max(width // 2, 4)
        self.stem = nn.Sequential(_conv_bn(4, half, stride=2), _conv_bn(half, width))
        self.block = _conv_bn(width, width, dilation=2)
        self.out = nn.Conv2d(width, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        y = self.stem(x)
        return self.out(y + self.block(y))


def local_norm(gray: Tensor, mask: Tensor, k: int, eps: float = 0.05) -> Tensor:
    """Masked local zero-mean, unit-variance normalisation in ``k x k`` windows ``[B,1,H,W]``."""

    def pool(t: Tensor) -> Tensor:  # separable box filter (zero padding; divided out below)
        t = F.avg_pool2d(t, (k, 1), 1, (k // 2, 0))
        return F.avg_pool2d(t, (1, k), 1, (0, k // 2))

    m = pool(mask).clamp_min(1e-3)
    mean = pool(gray * mask) / m
    var = (pool(gray * gray * mask) / m - mean * mean).clamp_min(0.0)
    return (gray - mean) / torch.sqrt(var + eps * eps) * mask


def rotation_grid(deltas: Tensor, size: int) -> Tensor:
    """``affine_grid`` sampling BEV(R(-delta) e) for every delta: ``[K, size, size, 2]``.

    Image axes are x = east, y = south; an ENU rotation by +theta (counter-clockwise) is
    ``[[c, s], [-s, c]]`` in them, so sampling at ``R(-delta)`` uses ``[[c, -s], [s, c]]``.
    """
    c, s = deltas.cos(), deltas.sin()
    zero = torch.zeros_like(c)
    theta = torch.stack([torch.stack([c, -s, zero], -1), torch.stack([s, c, zero], -1)], -2)
    return F.affine_grid(theta, [len(deltas), 1, size, size], align_corners=False)


class GeoLocNet(nn.Module):
    """See the module docstring."""

    shift_hidden = staticmethod(shift_hidden)

    def __init__(self, config: GeoConfig) -> None:
        super().__init__()
        cfg = self.config = config
        c1 = cfg.channels + 1
        self.sat_extractor = Extractor(cfg.width, cfg.channels)
        self.ground_extractor = Extractor(cfg.width, cfg.channels)
        # Per-channel template weights (learned channels, then the NCC grayscale channel) and
        # the log-temperature of the score volume.
        self.channel_weight = nn.Parameter(torch.cat([torch.full((cfg.channels,), 0.5),
                                                      torch.ones(1)]))  # fmt: skip
        self.log_temperature = nn.Parameter(torch.tensor(math.log(25.0)))
        k = cfg.num_headings
        self.fusion = MLP(1 + k + 2 + c1, cfg.dim, cfg.dim, num_layers=2)
        self.temporal = (
            TemporalAttention(cfg.dim, cfg.num_heads, cfg.ffn_dim, cfg.dropout)
            if cfg.temporal
            else None
        )
        self.location_head = MLP(cfg.dim, cfg.dim, 1, num_layers=3)
        self.coordinator_head = MLP(cfg.dim, cfg.dim, 2, num_layers=3)
        for head in (self.location_head, self.coordinator_head):
            nn.init.zeros_(head.layers[-1].weight)
            nn.init.zeros_(head.layers[-1].bias)
        n = cfg.grid_size
        pe = sine_position_encoding(n, n, cfg.dim, cfg.pe_temperature)
        self.register_buffer('sat_pos', pe[None], persistent=False)
        deltas = torch.tensor(cfg.heading_deltas_rad, dtype=torch.float32)
        self.register_buffer('deltas', deltas, persistent=False)
        self.register_buffer('sat_grid', rotation_grid(-deltas, cfg.sat_feat), persistent=False)
        self.register_buffer('map_grid', rotation_grid(deltas, cfg.sat_feat), persistent=False)
        self.pad = cfg.sat_feat + cfg.bev_feat - 1
        # In-cell offsets of the cell's feature pixels (row, col), cell units: [cf*cf, 2].
        cf = cfg.cell_feat
        a = (torch.arange(cf, dtype=torch.float32) + 0.5) / cf
        rr, cc = torch.meshgrid(a, a, indexing='ij')
        self.register_buffer('cell_offsets', torch.stack([rr, cc], -1).view(-1, 2), False)

    # ----------------------------------------------------------------------------- branches
    def _features(self, extractor: Extractor, rgb: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """-> (features [B, C+1, h, w] (unit learned part, NCC channel), feature mask)."""
        m = F.avg_pool2d(mask, 2)
        m = (m > 0.99).to(rgb.dtype)
        m = -F.max_pool2d(-m, 3, 1, 1)  # erode by one pixel: no features across the mask edge
        feat = F.normalize(extractor(torch.cat([rgb, mask], 1)), dim=1)
        gray = F.avg_pool2d((rgb.mean(1, keepdim=True)) * mask, 2)
        gray = gray / F.avg_pool2d(mask, 2).clamp_min(1e-3)
        ncc = local_norm(gray, m, self.config.localnorm_px)
        return torch.cat([feat * m, ncc], 1), m

    def encode_satellite(self, sat: Tensor) -> GeoSatFeatures:
        """``sat [B, 3, S, S]`` normalised RGB (north-up) -> cached FFTs + per-cell features.

        The tile features are rotated by every candidate ``-delta_k`` about the tile centre here
        (once per tile), so each frame correlates one unrotated BEV template with K tiles.
        """
        s = self.config.sat_size
        _check(sat, 'satellite', (3, s, s))
        ones = torch.ones_like(sat[:, :1])
        feat, _ = self._features(self.sat_extractor, sat, ones)
        n = self.config.grid_size
        cells = F.adaptive_avg_pool2d(feat, n).flatten(2).transpose(1, 2)
        b, c1, h, w = feat.shape
        k = self.config.num_headings
        grid = self.sat_grid.to(feat.dtype).repeat(b, 1, 1, 1)
        rot = F.grid_sample(feat.repeat_interleave(k, 0), grid, align_corners=False)
        p = self.pad
        spec = torch.fft.rfft2(F.pad(rot, (0, p - w, 0, p - h)))  # [B*K, C+1, P, P/2+1]
        spec = spec.view(b, k, c1, -1).permute(0, 3, 1, 2).contiguous()  # [B, F, K, C+1]
        return GeoSatFeatures(spec, cells)

    def score_volume(self, bev: Tensor, mask: Tensor, sat: GeoSatFeatures) -> Tensor:
        """BEV ``[B, 3, Hb, Wb]`` + mask ``[B, 1, Hb, Wb]`` vs the tile -> logits
        ``[B, K, Hs, Ws]``: vehicle at feature pixel (row, col) centre, heading prior + delta_k.

        Correlating the template with the tile rotated by ``-delta_k`` (about the tile centre
        c) scores the vehicle at ``q``; in tile coordinates that is ``v = c + R(delta_k)(q - c)``,
        so the K maps are rotated back with the BEV-style grid (sampling at ``R(-delta_k)``).
        """
        cfg = self.config
        hb = cfg.bev_size
        _check(bev, 'bev', (3, hb, hb))
        _check(mask, 'bev mask', (1, hb, hb))
        feat, m = self._features(self.ground_extractor, bev, mask)
        tmpl = feat * self.channel_weight.view(1, -1, 1, 1)
        b, _, hf, wf = tmpl.shape
        count = m.sum((1, 2, 3)).clamp_min(1.0)  # [B] valid BEV pixels
        p, hs = self.pad, cfg.sat_feat
        spec = torch.fft.rfft2(F.pad(tmpl, (0, p - wf, 0, p - hf)))  # [B, C+1, P, P/2+1]
        bs, nf, k, c1 = sat.spectrum.shape  # one tile per sequence of t = b // bs frames
        t = b // bs
        spec = spec.conj().reshape(bs, t, c1, nf).permute(0, 3, 2, 1)  # [Bs, F, C+1, T]
        prod = torch.bmm(sat.spectrum.flatten(0, 1), spec.reshape(bs * nf, c1, t))
        prod = prod.view(bs, nf, k, t).permute(0, 3, 2, 1).reshape(b, k, p, -1)
        corr = torch.fft.irfft2(prod, s=(p, p))
        ctr = cfg.bev_feat // 2
        corr = corr.roll((ctr, ctr), (-2, -1))[..., :hs, :hs]  # [B, K, Hs, Ws] at q
        grid = self.map_grid.to(corr.dtype).repeat(b, 1, 1, 1)
        back = F.grid_sample(corr.reshape(b * k, 1, hs, hs), grid, align_corners=False)
        scale = self.log_temperature.exp() / count
        return back.view(b, k, hs, hs) * scale.view(b, 1, 1, 1)

    def cell_evidence(self, fine: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Score volume ``[B, K, Hs, Ws]`` -> cell logits ``[B, N^2]``, soft-argmax offsets
        ``[B, N^2, 2]``, ``log p(heading | cell)`` ``[B, N^2, K]``."""
        n, cf = self.config.grid_size, self.config.cell_feat
        b, k = fine.shape[:2]
        cells = fine.view(b, k, n, cf, n, cf).permute(0, 2, 4, 1, 3, 5).reshape(b, n * n, k, -1)
        pos = cells.logsumexp(2)  # [B, N^2, cf^2] marginal over headings
        cell_logit = pos.logsumexp(-1)
        offsets = pos.softmax(-1) @ self.cell_offsets
        heading = cells.logsumexp(-1) - cell_logit[..., None]
        return cell_logit, offsets, heading

    def fuse(self, cell_logit: Tensor, offsets: Tensor, heading: Tensor, sat: GeoSatFeatures):
        """Fusion feature ``F_f [B, N^2, D]`` (one token per cell)."""
        logp = cell_logit.log_softmax(-1).clamp_min(-30.0).unsqueeze(-1) / 10.0
        x = torch.cat([logp, heading.clamp_min(-30.0) / 10.0, offsets, sat.cells], -1)
        return self.fusion(x)

    def update_hidden(self, fused: Tensor, state: Tensor, valid: Tensor) -> Tensor:
        """h^t as ``CrossViewSeqNet.update_hidden`` (invalid cells take F_f^t)."""
        if self.temporal is None:
            return fused
        prev = torch.where(valid.unsqueeze(-1), state, fused)
        out = self.temporal(fused, hidden=prev, pos=self.sat_pos)
        return torch.where(valid.any(dim=1).view(-1, 1, 1), out, fused)

    def heads(self, h: Tensor, cell_logit: Tensor, offsets: Tensor) -> tuple[Tensor, Tensor]:
        logits = cell_logit + self.location_head(h).squeeze(-1)
        o = offsets.clamp(0.02, 0.98)
        return logits, (torch.logit(o) + self.coordinator_head(h)).sigmoid()

    def _frame(self, bev, mask, sat, state, valid):
        fine = self.score_volume(bev, mask, sat)
        cell_logit, offsets, heading = self.cell_evidence(fine)
        h = self.update_hidden(self.fuse(cell_logit, offsets, heading, sat), state, valid)
        logits, offsets = self.heads(h, cell_logit, offsets)
        p_cell = logits.softmax(-1)
        heading_prob = (p_cell.unsqueeze(-1) * heading.exp()).sum(1)
        return fine, logits, offsets, heading_prob, h

    # ---------------------------------------------------------------------------- online API
    def step(
        self, bev: Tensor, mask: Tensor, sat: GeoSatFeatures, hidden: HiddenState | None
    ) -> GeoStepOutput:
        """One frame (see the module docstring) -> ``GeoStepOutput``."""
        b, n2 = sat.cells.shape[:2]
        if hidden is None:
            hidden = HiddenState.empty(b, n2, self.config.dim, device=bev.device)
        if hidden.state.shape != (b, n2, self.config.dim):
            raise ValueError(f'hidden state {tuple(hidden.state.shape)} does not fit the model')
        _, logits, offsets, heading_prob, h = self._frame(bev, mask, sat, *hidden)
        valid = torch.ones(b, n2, dtype=torch.bool, device=bev.device)
        return GeoStepOutput(logits, offsets, heading_prob, HiddenState(h, valid))

    def forward(self, bev_seq: Tensor, mask_seq: Tensor, sat: Tensor) -> GeoVolume:
        """Training: ``bev_seq [B, T, 3, Hb, Wb]``, ``mask_seq [B, T, 1, Hb, Wb]``, one tile
        ``sat [B, 3, S, S]`` per sequence -> ``GeoVolume`` (equal to ``step`` frame by frame)."""
        b, t = bev_seq.shape[:2]
        feats = self.encode_satellite(sat)
        fine = self.score_volume(bev_seq.flatten(0, 1), mask_seq.flatten(0, 1), feats)
        rep = GeoSatFeatures(feats.spectrum, feats.cells.repeat_interleave(t, 0))
        cell_logit, offsets, heading = self.cell_evidence(fine)
        fused = self.fuse(cell_logit, offsets, heading, rep).view(b, t, -1, self.config.dim)
        valid = torch.ones(b, fused.shape[2], dtype=torch.bool, device=fused.device)
        hs = [fused[:, 0]]
        for i in range(1, t):
            hs.append(self.update_hidden(fused[:, i], hs[-1], valid))
        h = torch.stack(hs, 1).flatten(0, 1)
        logits, offsets = self.heads(h, cell_logit, offsets)
        heading_prob = (logits.softmax(-1).unsqueeze(-1) * heading.exp()).sum(1)
        n2 = logits.shape[-1]
        return GeoVolume(
            logits.view(b, t, n2),
            offsets.view(b, t, n2, 2),
            fine.view(b, t, *fine.shape[1:]),
            heading_prob.view(b, t, -1),
        )


def _check(x: Tensor, name: str, chw: tuple[int, int, int]) -> None:
    if x.dim() != 4 or tuple(x.shape[1:]) != chw:
        raise ValueError(f'{name} must be [B, {chw[0]}, {chw[1]}, {chw[2]}], got {tuple(x.shape)}')
