"""Checkpoint I/O and training loss of ``GeoLocNet``.

Same layout as ``model/checkpoint.py`` (plain values, ``torch.load(weights_only=True)``) with its
own format tag so that neither loader mistakes the other's files::

    {'format': 'cvseq_localizer.geo_model/1', 'config': GeoConfig.to_dict(),
     'state_dict': {name: Tensor}, 'extra': {str: plain values}}

``extra`` records the training cameras (``CameraModel.to_dict()``), the BEV spec, the heading
window, ``sat_ground_m`` and ``offset_sigma_m``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from cvseq_localizer.model.checkpoint import (
    CheckpointError,
    _check_plain,
    load_state_checked,
    read_file,
)
from cvseq_localizer.model.geo_config import GeoConfig
from cvseq_localizer.model.geometric import GeoLocNet, GeoVolume

logger = logging.getLogger(__name__)
GEO_FORMAT = 'cvseq_localizer.geo_model/1'


def save_geo_checkpoint(
    model: GeoLocNet, path: str | os.PathLike, extra: dict[str, Any] | None = None
) -> Path:
    """Write weights + config + ``extra`` (plain values) atomically."""
    path = Path(path)
    extra = dict(extra or {})
    _check_plain(extra, 'extra')
    payload = {
        'format': GEO_FORMAT,
        'config': model.config.to_dict(),
        'state_dict': {k: v.detach().cpu() for k, v in model.state_dict().items()},
        'extra': extra,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + '.tmp')
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def is_geo_checkpoint(path: str | os.PathLike) -> bool:
    """True if ``path`` is a readable geo checkpoint (for engine factories)."""
    try:
        data = read_file(path)
    except (CheckpointError, FileNotFoundError):
        return False
    return isinstance(data, dict) and data.get('format') == GEO_FORMAT


def load_geo_checkpoint(
    path: str | os.PathLike, map_location: str | torch.device = 'cpu', **overrides: Any
) -> tuple[GeoLocNet, dict[str, Any]]:
    """Build ``GeoLocNet`` from the file's config (+ ``overrides``, e.g. ``temporal=False``)
    and load its weights (eval mode). Raises CheckpointError naming the file."""
    data = read_file(path)
    if not isinstance(data, dict) or data.get('format') != GEO_FORMAT:
        found = data.get('format') if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(f'{path}: not a {GEO_FORMAT} checkpoint (format {found!r})')
    try:
        cfg = GeoConfig.from_dict({**data['config'], **overrides})
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f'{path}: invalid geo config ({exc})') from exc
    model = GeoLocNet(cfg)
    state = data['state_dict']
    if not cfg.temporal:
        state = {k: v for k, v in state.items() if not k.startswith('temporal.')}
    load_state_checked(model, state, source=str(path))
    return model.to(map_location).eval(), dict(data.get('extra', {}))


class GeoLossParts(NamedTuple):
    total: Tensor
    fine: Tensor  # CE of the 1 m position map (marginal over headings), nats
    heading: Tensor  # CE over candidate headings at the true position, nats
    cls: Tensor  # CE over the N^2 cells (final head), nats
    mse: Tensor  # offset MSE at the true cell (cell units^2)


def geo_loss(out: GeoVolume, pos_px: Tensor, delta_rad: Tensor, model: GeoLocNet) -> GeoLossParts:
    """Loss of a ``GeoVolume`` against the truth.

    ``pos_px [B, T, 2]``: vehicle (x east, y south) in feature pixels from the tile's NW corner
    (corner-based); ``delta_rad [B, T]``: true heading minus the prior.
    """
    cfg = model.config
    fine = out.fine.flatten(0, 1)  # [BT, K, H, W]
    bt, k, h, w = fine.shape
    pos = pos_px.reshape(bt, 2)
    # Bilinear soft target over the 4 pixel centres around the truth.
    fx, fy = pos[:, 0] - 0.5, pos[:, 1] - 0.5
    x0, y0 = fx.floor().clamp(0, w - 2), fy.floor().clamp(0, h - 2)
    ax, ay = (fx - x0).clamp(0, 1), (fy - y0).clamp(0, 1)
    logp = fine.logsumexp(1).flatten(1).log_softmax(-1)  # [BT, H*W]
    x0, y0 = x0.long(), y0.long()
    fine_ce = 0.0
    for dy, dx, wgt in ((0, 0, (1 - ay) * (1 - ax)), (0, 1, (1 - ay) * ax),
                        (1, 0, ay * (1 - ax)), (1, 1, ay * ax)):  # fmt: skip
        idx = (y0 + dy) * w + (x0 + dx)
        fine_ce = fine_ce - wgt * logp.gather(1, idx[:, None]).squeeze(1)
    # Heading: soft target between the two nearest candidates, at the nearest position pixel.
    xi = pos[:, 0].floor().clamp(0, w - 1).long()
    yi = pos[:, 1].floor().clamp(0, h - 1).long()
    head = fine[torch.arange(bt), :, yi, xi].log_softmax(-1)  # [BT, K]
    step = cfg.heading_step_deg * torch.pi / 180.0
    u = (delta_rad.reshape(bt) - model.deltas[0]) / step
    u = u.clamp(0, k - 1)
    i0 = u.floor().clamp(max=k - 2).long() if k > 1 else u.long()
    a = (u - i0).clamp(0, 1)
    target = torch.zeros_like(head)
    target.scatter_(1, i0[:, None], (1 - a)[:, None])
    if k > 1:
        target.scatter_add_(1, (i0 + 1)[:, None], a[:, None])
    head_ce = -(target * head).sum(1)
    # Cells (the paper's loss): CE + offset MSE at the true cell.
    n, cf = cfg.grid_size, cfg.cell_feat
    cell_xy = pos / cf  # cell units
    col = cell_xy[:, 0].floor().clamp(0, n - 1)
    row = cell_xy[:, 1].floor().clamp(0, n - 1)
    cell = (row * n + col).long()
    logits = out.logits.flatten(0, 1)
    cls = F.cross_entropy(logits, cell)
    pred = out.offsets.flatten(0, 1)[torch.arange(bt), cell]  # [BT, 2] (row, col)
    tgt = torch.stack([cell_xy[:, 1] - row, cell_xy[:, 0] - col], -1).clamp(0, 1)
    mse = F.mse_loss(pred, tgt)
    fine_ce, head_ce = fine_ce.mean(), head_ce.mean()
    total = fine_ce + 0.5 * head_ce + cls + 4.0 * mse
    return GeoLossParts(total, fine_ce, head_ce, cls, mse)
