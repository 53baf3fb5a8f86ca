"""`cvseq-train`: train the network on simulated drives (or continue a run).

Stage 1 trains the single-image baseline, stage 2 the Temporal Attention Module on sequences with
frozen backbones (the paper's recipe). ``--stage both`` runs 1 then 2 and copies the results to
``--ship DIR`` (``baseline.pt`` and ``tam.pt``) when given.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from cvseq_localizer.data.simulated import SimDatasetConfig, SimulatedDataset
from cvseq_localizer.model.checkpoint import load_checkpoint, save_checkpoint
from cvseq_localizer.train.trainer import TrainConfig, train

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainOptions:
    """What ``cvseq-train`` runs (one field per flag; see :func:`parser` for their meaning)."""

    stage: str = 'both'
    preset: str = 'small'
    out: str = '.cache/train/small'
    init: str = ''
    ship: str = ''
    cache: str = '.cache/simdata'
    worlds: int = 12
    sequences_per_world: int = 200
    val_worlds: int = 2
    frames: int = 6
    tile_ground_m: float = 64.0
    tile_px: int = 128
    offset_sigma_m: float = 8.0
    epochs: int = 10
    epochs2: int = 3
    batch_size: int = 8
    batch_size2: int = 2
    lr_backbone: float = 1e-5
    lr_rest: float = 1e-4
    minutes: float = 0.0
    minutes2: float = 0.0
    device: str = 'cpu'
    amp: bool = False
    threads: int = 2
    seed: int = 0


def datasets(args: TrainOptions) -> tuple[SimulatedDataset, SimulatedDataset]:
    """Training worlds and held-out validation worlds (a different seed: unseen towns)."""
    base = SimDatasetConfig(
        worlds=args.worlds,
        sequences_per_world=args.sequences_per_world,
        frames=args.frames,
        tile_ground_m=args.tile_ground_m,
        tile_px=args.tile_px,
        offset_sigma_m=args.offset_sigma_m,
        seed=args.seed,
    )
    val = replace(base, worlds=args.val_worlds, sequences_per_world=50, seed=args.seed + 1000)
    return SimulatedDataset(base, args.cache), SimulatedDataset(val, args.cache)


def stage_config(args: TrainOptions, stage: int, init: str) -> TrainConfig:
    return TrainConfig(
        preset=args.preset,
        model_overrides={'sat_size': args.tile_px},
        stage=stage,
        init=init,
        out_dir=str(Path(args.out) / f'stage{stage}'),
        epochs=args.epochs if stage == 1 else args.epochs2,
        batch_size=args.batch_size if stage == 1 else args.batch_size2,
        frames=args.frames,
        lr_backbone=args.lr_backbone,
        lr_rest=args.lr_rest,
        seed=args.seed,
        device=args.device,
        amp=args.amp,
        max_minutes=args.minutes if stage == 1 else args.minutes2,
        extra={
            'sat_ground_m': args.tile_ground_m,
            'offset_sigma_m': args.offset_sigma_m,
            'trained_on': 'simulated',
        },
    )


def run(args: TrainOptions) -> dict[str, Path]:
    """Train the requested stage(s); returns the best checkpoint of each."""
    torch.set_num_threads(args.threads)
    train_set, val_set = datasets(args)
    log.info('%d training / %d validation sequences', len(train_set), len(val_set))
    results: dict[str, Path] = {}
    if args.stage in ('1', 'both'):
        results['baseline'] = train(stage_config(args, 1, args.init), train_set, val_set)
    if args.stage in ('2', 'both'):
        init = str(results.get('baseline', args.init))
        if not init:
            raise ValueError('stage 2 needs --init (a stage-1 checkpoint) or --stage both')
        results['tam'] = train(stage_config(args, 2, init), train_set, val_set)
    if args.ship:
        for name, path in results.items():
            ship_checkpoint(path, Path(args.ship) / f'{args.preset}_{name}.pt')
    return results


def ship_checkpoint(src: Path, dst: Path, **extra: object) -> Path:
    """Copy a training checkpoint for release: weights, config and the metadata users need
    (``sat_ground_m``, ``offset_sigma_m``, validation metrics), without the training history."""
    model, meta = load_checkpoint(src)
    state = json.loads(meta.get('train_state', '{}'))
    meta['train_state'] = json.dumps({k: v for k, v in state.items() if k != 'history'})
    meta.update(extra)
    return save_checkpoint(model, dst, meta)


def parser() -> argparse.ArgumentParser:
    d = TrainOptions()
    p = argparse.ArgumentParser(prog='cvseq-train', description=__doc__)
    p.add_argument('--stage', choices=['1', '2', 'both'], default=d.stage)
    p.add_argument('--preset', default=d.preset, help='model preset (tiny, small, paper)')
    p.add_argument('--out', default=d.out, help='run directory')
    p.add_argument('--init', default=d.init, help='checkpoint to start from')
    p.add_argument('--ship', default=d.ship, help='copy the best checkpoints here (e.g. models/)')
    p.add_argument('--cache', default=d.cache, help='rendered-sample cache')
    p.add_argument('--worlds', type=int, default=d.worlds)
    p.add_argument('--sequences-per-world', type=int, default=d.sequences_per_world)
    p.add_argument('--val-worlds', type=int, default=d.val_worlds)
    p.add_argument('--frames', type=int, default=d.frames)
    p.add_argument('--tile-ground-m', type=float, default=d.tile_ground_m)
    p.add_argument('--tile-px', type=int, default=d.tile_px)
    p.add_argument('--offset-sigma-m', type=float, default=d.offset_sigma_m)
    p.add_argument('--epochs', type=int, default=d.epochs, help='stage 1 epochs')
    p.add_argument('--epochs2', type=int, default=d.epochs2, help='stage 2 epochs')
    p.add_argument('--batch-size', type=int, default=d.batch_size, help='stage 1 (single frames)')
    p.add_argument('--batch-size2', type=int, default=d.batch_size2, help='stage 2 (sequences)')
    p.add_argument('--lr-backbone', type=float, default=d.lr_backbone, help='paper: 1e-5')
    p.add_argument('--lr-rest', type=float, default=d.lr_rest, help='paper: 1e-4')
    p.add_argument('--minutes', type=float, default=d.minutes, help='stage 1 wall-time budget')
    p.add_argument('--minutes2', type=float, default=d.minutes2, help='stage 2 wall-time budget')
    p.add_argument('--device', default=d.device)
    p.add_argument('--amp', action='store_true', help='CUDA mixed precision')
    p.add_argument('--threads', type=int, default=d.threads)
    p.add_argument('--seed', type=int, default=d.seed)
    return p


def main(argv: list[str] | None = None) -> int:
    options = TrainOptions(**vars(parser().parse_args(argv)))
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(message)s')
    try:
        results = run(options)
    except (ValueError, FileNotFoundError) as exc:
        print(f'cvseq-train: error: {exc}', file=sys.stderr)
        return 2
    for name, path in results.items():
        print(f'{name}: {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
