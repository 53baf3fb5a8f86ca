"""The two training stages of the paper (Sec. IV-B), resumable, seeded, DDP- and AMP-ready.

Stage 1 trains the single-image baseline (TAM off) on one random frame per sequence; stage 2 adds
the Temporal Attention Module and trains on whole sequences with the two backbones frozen.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler
from tqdm import tqdm

from cvseq_localizer.model.checkpoint import read_checkpoint, save_checkpoint
from cvseq_localizer.model.config import ModelConfig
from cvseq_localizer.model.loss import sequence_loss
from cvseq_localizer.model.net import CrossViewSeqNet, build_model
from cvseq_localizer.train import distributed as dist
from cvseq_localizer.train.collate import Batch, collate
from cvseq_localizer.train.evaluation import validate

log = logging.getLogger(__name__)
BACKBONE_PREFIXES = ('sat_backbone.', 'ground_backbone.')


@dataclass
class TrainConfig:
    """Training settings; defaults are the paper's (AdamW, lr 1e-5 backbones / 1e-4 rest)."""

    preset: str = 'small'  # model preset (ModelConfig.preset)
    model_overrides: dict = field(default_factory=dict)  # ModelConfig field overrides
    stage: int = 1  # 1: single-frame baseline; 2: TAM on sequences, backbones frozen
    init: str = ''  # checkpoint to start from (stage 2: the stage-1 result)
    out_dir: str = '.cache/train/run'  # where last.pt, best.pt and the logs go
    resume: bool = True  # continue from out_dir/last.pt when it exists
    epochs: int = 10
    batch_size: int = 4  # sequences per step (paper: 4 in stage 1, 1 in stage 2)
    frames: int = 6  # frames per sequence in stage 2 (stage 1 uses one random frame)
    lr_backbone: float = 1e-5
    lr_rest: float = 1e-4
    weight_decay: float = 0.01
    grad_clip: float = 5.0  # max gradient norm (0 = off)
    seed: int = 0
    device: str = 'cpu'
    amp: bool = False  # CUDA automatic mixed precision (fp16 autocast + grad scaling)
    workers: int = 0  # DataLoader worker processes
    max_minutes: float = 0.0  # stop (after saving) when this wall time is used; 0 = no limit
    extra: dict = field(default_factory=dict)  # stored in the checkpoint (e.g. sat_ground_m)


def build_for_stage(cfg: TrainConfig) -> CrossViewSeqNet:
    """The model for ``cfg.stage``, initialised from ``cfg.init`` when given."""
    config = ModelConfig.preset(cfg.preset, **cfg.model_overrides)
    if cfg.init:
        config = read_checkpoint(cfg.init)[0]
    model = build_model(replace(config, temporal=cfg.stage == 2))
    if cfg.init:
        _, state, _ = read_checkpoint(cfg.init)
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected or any(not k.startswith('temporal.') for k in missing):
            raise ValueError(f'{cfg.init}: missing {missing}, unexpected {unexpected}')
        log.info('initialised from %s (new: %d temporal tensors)', cfg.init, len(missing))
    if cfg.stage == 2:
        for name, p in model.named_parameters():
            if name.startswith(BACKBONE_PREFIXES):
                p.requires_grad_(False)
    return model


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    backbone, rest = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (backbone if name.startswith(BACKBONE_PREFIXES) else rest).append(p)
    groups = [{'params': rest, 'lr': cfg.lr_rest}]
    if backbone:
        groups.append({'params': backbone, 'lr': cfg.lr_backbone})
    return torch.optim.AdamW(groups, weight_decay=cfg.weight_decay)


@dataclass
class TrainState:
    epoch: int = 0
    step: int = 0
    best_seq_mean_m: float = math.inf
    history: list = field(default_factory=list)


def train(cfg: TrainConfig, train_set: Dataset, val_set: Dataset | None) -> Path:
    """Run a stage; returns the best checkpoint path (``out_dir/best.pt``)."""
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ctx = dist.setup(cfg.device)
    torch.manual_seed(cfg.seed + ctx.rank)
    model = build_for_stage(cfg).to(ctx.device)
    optimizer = make_optimizer(model, cfg)
    state = _maybe_resume(cfg, model, optimizer, ctx.device)
    wrapped = dist.wrap(model, ctx)
    scaler = torch.amp.GradScaler('cuda', enabled=cfg.amp and ctx.device.type == 'cuda')
    frames = 1 if cfg.stage == 1 else cfg.frames
    loader = _loader(train_set, cfg, model.config, frames, ctx, shuffle=True)
    val_batches = _val_batches(val_set, cfg, model.config, frames) if ctx.is_main else []
    started = time.monotonic()
    while state.epoch < cfg.epochs:
        dist.set_epoch(loader, state.epoch)
        stopped = _run_epoch(cfg, wrapped, optimizer, scaler, loader, state, ctx, started)
        metrics = validate(model, val_batches) if val_batches else {}
        if not stopped:
            state.epoch += 1
        if ctx.is_main:
            _end_epoch(cfg, model, optimizer, state, metrics, out)
        if stopped:
            break
    dist.cleanup(ctx)
    return out / 'best.pt'


def _run_epoch(cfg, model, optimizer, scaler, loader, state, ctx, started) -> bool:
    model.train()
    bar = tqdm(loader, desc=f'stage {cfg.stage} epoch {state.epoch + 1}/{cfg.epochs}',
               disable=not ctx.is_main, unit='batch')  # fmt: skip
    for batch in bar:
        loss = _train_step(cfg, model, optimizer, scaler, batch, ctx)
        state.step += 1
        bar.set_postfix(loss=f'{loss["total"]:.3f}')
        if ctx.is_main and state.step % 10 == 0:
            state.history.append({'epoch': state.epoch, 'step': state.step, **loss})
        if cfg.max_minutes and (time.monotonic() - started) / 60 > cfg.max_minutes:
            log.info('time budget of %.1f min used: stopping', cfg.max_minutes)
            return True
    return False


def _train_step(cfg, model, optimizer, scaler, batch: Batch, ctx) -> dict[str, float]:
    batch = Batch(*(t.to(ctx.device) for t in batch))
    with torch.autocast(ctx.device.type, enabled=scaler.is_enabled()):
        logits, offsets = model(batch.ground, batch.sat)
        parts = sequence_loss(logits.float(), offsets.float(), batch.cells, batch.offsets)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(parts.total).backward()
    if cfg.grad_clip:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    scaler.step(optimizer)
    scaler.update()
    return {k: float(getattr(parts, k).detach()) for k in ('total', 'cls', 'mse')}


def _loader(dataset, cfg, config, frames, ctx, shuffle) -> DataLoader:
    gen = torch.Generator().manual_seed(cfg.seed)
    sampler = dist.sampler(dataset, ctx, cfg.seed) or (RandomSampler(dataset, generator=gen)
                                                       if shuffle else None)  # fmt: skip
    return DataLoader(
        dataset,
        batch_size=cfg.batch_size,
        sampler=sampler,
        num_workers=cfg.workers,
        collate_fn=_Collate(config, frames, cfg.seed if frames == 1 else None),
        drop_last=len(dataset) > cfg.batch_size,
    )


class _Collate:
    """Picklable collate; stage 1 draws one random frame per sequence."""

    def __init__(self, config: ModelConfig, frames: int, seed: int | None) -> None:
        self.config, self.frames = config, frames
        self.rng = None if seed is None else torch.Generator().manual_seed(seed)

    def __call__(self, samples):
        if self.rng is not None:
            samples = [_pick_frame(s, self.rng) for s in samples]
        return collate(samples, self.config, self.frames)


def _pick_frame(sample, rng):
    i = int(torch.randint(len(sample.ground), (1,), generator=rng))
    return replace(sample, ground=sample.ground[i : i + 1], uv_px=sample.uv_px[i : i + 1])


def _val_batches(dataset, cfg, config, frames) -> list[Batch]:
    if dataset is None or len(dataset) == 0:
        return []
    samples = [dataset[i] for i in range(len(dataset))]
    fr = max(frames, min(len(s.ground) for s in samples)) if cfg.stage == 2 else None
    bs = max(1, cfg.batch_size)
    return [collate(samples[i : i + bs], config, fr) for i in range(0, len(samples), bs)]


def _maybe_resume(cfg, model, optimizer, device) -> TrainState:
    last = Path(cfg.out_dir) / 'last.pt'
    if not (cfg.resume and last.exists()):
        return TrainState()
    _, state_dict, extra = read_checkpoint(last)
    model.load_state_dict(state_dict)
    opt = torch.load(Path(cfg.out_dir) / 'optimizer.pt', map_location=device, weights_only=True)
    optimizer.load_state_dict(opt)
    state = TrainState(**json.loads(extra['train_state']))
    log.info('resumed from %s at epoch %d step %d', last, state.epoch, state.step)
    return state


def _end_epoch(cfg, model, optimizer, state, metrics, out: Path) -> None:
    row = {'epoch': state.epoch, 'step': state.step, **{f'val_{k}': v for k, v in metrics.items()}}
    state.history.append(row)
    log.info('epoch %d: %s', state.epoch, metrics)
    extra = _extra(cfg, state, metrics)
    save_checkpoint(model, out / 'last.pt', extra)
    torch.save(optimizer.state_dict(), out / 'optimizer.pt')
    seq_mean = metrics.get('seq_mean_m', math.inf)
    if seq_mean < state.best_seq_mean_m or not (out / 'best.pt').exists():
        state.best_seq_mean_m = min(seq_mean, state.best_seq_mean_m)
        save_checkpoint(model, out / 'best.pt', _extra(cfg, state, metrics))
    _write_logs(out, state)


def _extra(cfg: TrainConfig, state: TrainState, metrics: dict) -> dict[str, Any]:
    return {
        **cfg.extra,
        'stage': cfg.stage,
        'val_metrics': json.dumps(metrics),
        'train_config': json.dumps(asdict(cfg)),
        'train_state': json.dumps(asdict(state)),
    }


def _write_logs(out: Path, state: TrainState) -> None:
    (out / 'log.json').write_text(json.dumps(state.history, indent=1))
    keys = sorted({k for row in state.history for k in row})
    lines = [','.join(keys)] + [
        ','.join(str(row.get(k, '')) for k in keys) for row in state.history
    ]
    (out / 'log.csv').write_text('\n'.join(lines) + '\n')
