"""Training of ``GeoLocNet`` on the on-the-fly simulator stream, in two stages like the paper.

Stage 1: the single-frame baseline (``temporal=False``; every frame of a sequence is scored on its
own against the sequence's tile). Stage 2: the TAM model initialised from stage 1, trained on
whole sequences. Each stage runs for a wall-clock budget, validates every ``val_every_min``
minutes on a fixed held-out set (its own seeds) and keeps ``last.pt`` and ``best.pt``.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from cvseq_localizer.data.geo_stream import (
    IMAGE_SIZES,
    GeoStream,
    GeoStreamConfig,
    validation_set,
)
from cvseq_localizer.model.geo_checkpoint import geo_loss, load_geo_checkpoint, save_geo_checkpoint
from cvseq_localizer.model.geo_config import GeoConfig
from cvseq_localizer.model.geometric import GeoLocNet, GeoVolume
from cvseq_localizer.sim.camera import PinholeCamera

log = logging.getLogger(__name__)


@dataclass
class GeoTrainConfig:
    """Settings of one training stage."""

    out_dir: str = '.cache/train_geo/stage1'
    preset: str = 'geo_small'
    overrides: dict = field(default_factory=dict)  # GeoConfig overrides (e.g. temporal)
    init: str = ''  # checkpoint to start from (stage 2: stage-1 best)
    minutes: float = 40.0
    batch_size: int = 4  # sequences per step
    frames: int = 4  # frames per sequence
    lr: float = 2e-3
    weight_decay: float = 1e-4
    grad_clip: float = 5.0
    seed: int = 0
    workers: int = 1
    threads: int = 2
    val_every_min: float = 5.0
    val_worlds: int = 8
    val_per_world: int = 6
    select: str = 'median_m'  # validation metric minimised for best.pt
    stream: dict = field(default_factory=dict)  # GeoStreamConfig overrides
    max_steps: int = 0  # 0 = until the time budget
    shuffle_buffer: int = 16  # samples mixed across worlds


def _batch(samples: dict[str, Any]) -> dict[str, torch.Tensor]:
    return {k: torch.as_tensor(v) for k, v in samples.items()}


def decode_m(out: GeoVolume, cfg: GeoConfig) -> torch.Tensor:
    """``[B, T, 2]`` predicted (x east, y south) in metres from the tile's NW corner."""
    cell = out.logits.argmax(-1)  # [B, T]
    n = cfg.grid_size
    off = out.offsets.gather(2, cell[..., None, None].expand(*cell.shape, 1, 2)).squeeze(2)
    cell_m = cfg.sat_ground_m / n
    x = ((cell % n).to(off.dtype) + off[..., 1]) * cell_m
    y = ((cell // n).to(off.dtype) + off[..., 0]) * cell_m
    return torch.stack([x, y], -1)


@torch.no_grad()
def evaluate(model: GeoLocNet, val: list[dict], batch: int = 4) -> dict[str, float]:
    """Errors on the validation set: single first frames, all frames, sequence means."""
    model.eval()
    cfg = model.config
    errs, heading_err = [], []
    for i in range(0, len(val), batch):
        b = _batch({k: np.stack([s[k] for s in val[i : i + batch]]) for k in val[0]})
        out = model(b['bev'], b['mask'], b['sat'])
        truth = b['pos_px'] * cfg.feat_res_m
        errs.append((decode_m(out, cfg) - truth).norm(dim=-1))
        yaw = (out.heading_prob * model.deltas).sum(-1) / out.heading_prob.sum(-1)
        heading_err.append((yaw - b['delta']).abs())
    e = torch.cat(errs).numpy()  # [S, T]
    h = np.degrees(torch.cat(heading_err).numpy())
    model.train()
    return {
        'first_median_m': float(np.median(e[:, 0])),
        'first_within4': float(np.mean(e[:, 0] < 4.0)),
        'median_m': float(np.median(e)),
        'within4': float(np.mean(e < 4.0)),
        'within1': float(np.mean(e < 1.0)),
        'seq_mean_m': float(np.mean(e)),
        'last_median_m': float(np.median(e[:, -1])),
        'heading_median_deg': float(np.median(h)),
    }


def checkpoint_extra(cfg: GeoConfig, stream: GeoStreamConfig) -> dict[str, Any]:
    """What a geo checkpoint records besides weights (plain values)."""
    spec = cfg.bev_spec()
    return {
        'sat_ground_m': float(cfg.sat_ground_m),
        'offset_sigma_m': float(stream.offset_sigma_m),
        'heading_sigma_deg': float(stream.heading_sigma_deg),
        'heading_window_deg': [-cfg.heading_half_deg, cfg.heading_half_deg],
        'heading_step_deg': float(cfg.heading_step_deg),
        'bev_spec': asdict(spec),
        'train_camera': PinholeCamera().to_model().to_dict(),
        'train_camera_ranges': {
            'hfov_deg': [60.0, 120.0],
            'height_m': [1.2, 2.2],
            'pitch_deg': [0.0, 10.0],
            'image_sizes': [list(s) for s in IMAGE_SIZES],
        },
        'mode': 'geometric',
    }


def _lr(step: int, frac: float, base: float) -> float:
    warm = min(1.0, (step + 1) / 50)
    return base * warm * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))


def _worker_init(_: int) -> None:
    import cv2

    torch.set_num_threads(1)
    cv2.setNumThreads(1)


def train_geo(tc: GeoTrainConfig, val: list[dict] | None = None) -> dict[str, Any]:
    """Run one stage; returns the final summary (also written to ``out_dir/summary.json``)."""
    torch.manual_seed(tc.seed)
    torch.set_num_threads(tc.threads)
    out = Path(tc.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    geo = GeoConfig.preset(tc.preset, **tc.overrides)
    stream_cfg = replace(GeoStreamConfig(frames=tc.frames), **tc.stream)
    model = GeoLocNet(geo)
    if tc.init:
        init, _ = load_geo_checkpoint(tc.init, temporal=False)
        missing = model.load_state_dict(init.state_dict(), strict=False)
        log.info('init from %s (new: %d tensors)', tc.init, len(missing.missing_keys))
    model.train()
    extra = checkpoint_extra(geo, stream_cfg)
    if val is None:
        val = validation_set(geo, tc.val_worlds, tc.val_per_world)
    loader = DataLoader(
        GeoStream(stream_cfg, geo, tc.shuffle_buffer),
        batch_size=tc.batch_size,
        num_workers=tc.workers,
        worker_init_fn=_worker_init if tc.workers else None,
        prefetch_factor=4 if tc.workers else None,
        persistent_workers=False,
        # fork after the parent has run OpenMP/OpenCV thread pools deadlocks the worker
        multiprocessing_context='spawn' if tc.workers else None,
    )
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    t0, last_val, best = time.monotonic(), time.monotonic(), math.inf
    history, step, running = [], 0, []
    metrics = evaluate(model, val)
    history.append({'step': 0, 'minutes': 0.0, **metrics})
    log.info('step 0 val %s', metrics)
    for samples in loader:
        b = _batch(samples)
        frac = (time.monotonic() - t0) / 60.0 / tc.minutes
        for g in opt.param_groups:
            g['lr'] = _lr(step, frac, tc.lr)
        res = model(b['bev'], b['mask'], b['sat'])
        parts = geo_loss(res, b['pos_px'], b['delta'], model)
        opt.zero_grad(set_to_none=True)
        parts.total.backward()
        if tc.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
        opt.step()
        step += 1
        running.append([float(x.detach()) for x in parts])
        done = frac >= 1.0 or (tc.max_steps and step >= tc.max_steps)
        if done or time.monotonic() - last_val > tc.val_every_min * 60:
            last_val = time.monotonic()
            metrics = evaluate(model, val)
            loss = np.mean(running, axis=0).tolist()
            running = []
            minutes = (time.monotonic() - t0) / 60
            rec = {'step': step, 'minutes': round(minutes, 2), 'loss': loss, **metrics}
            history.append(rec)
            log.info('step %d (%.1f min) loss %s val %s', step, minutes, loss, metrics)
            ex = {**extra, 'step': step, 'val': metrics}
            save_geo_checkpoint(model, out / 'last.pt', ex)
            if metrics[tc.select] < best:
                best = metrics[tc.select]
                save_geo_checkpoint(model, out / 'best.pt', ex)
            (out / 'history.json').write_text(json.dumps(history, indent=1))
        if done:
            break
    summary = {'steps': step, 'best': best, 'select': tc.select, 'config': asdict(tc)}
    (out / 'summary.json').write_text(json.dumps(summary, indent=1))
    return summary
