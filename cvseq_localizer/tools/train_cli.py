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
from dataclasses import replace
from pathlib import Path

import torch

from cvseq_localizer.data.simulated import SimDatasetConfig, SimulatedDataset
from cvseq_localizer.model.checkpoint import load_checkpoint, save_checkpoint
from cvseq_localizer.train.trainer import TrainConfig, train

log = logging.getLogger(__name__)


def datasets(args: argparse.Namespace) -> tuple[SimulatedDataset, SimulatedDataset]:
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


def stage_config(args: argparse.Namespace, stage: int, init: str) -> TrainConfig:
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


def run(args: argparse.Namespace) -> dict[str, Path]:
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
    p = argparse.ArgumentParser(prog='cvseq-train', description=__doc__)
    p.add_argument('--stage', choices=['1', '2', 'both'], default='both')
    p.add_argument('--preset', default='small', help='model preset (tiny, small, paper)')
    p.add_argument('--out', default='.cache/train/small', help='run directory')
    p.add_argument('--init', default='', help='checkpoint to start from')
    p.add_argument('--ship', default='', help='copy the best checkpoints here (e.g. models/)')
    p.add_argument('--cache', default='.cache/simdata', help='rendered-sample cache')
    p.add_argument('--worlds', type=int, default=12)
    p.add_argument('--sequences-per-world', type=int, default=200)
    p.add_argument('--val-worlds', type=int, default=2)
    p.add_argument('--frames', type=int, default=6)
    p.add_argument('--tile-ground-m', type=float, default=64.0)
    p.add_argument('--tile-px', type=int, default=128)
    p.add_argument('--offset-sigma-m', type=float, default=8.0)
    p.add_argument('--epochs', type=int, default=10, help='stage 1 epochs')
    p.add_argument('--epochs2', type=int, default=3, help='stage 2 epochs')
    p.add_argument('--batch-size', type=int, default=8, help='stage 1 (single frames)')
    p.add_argument('--batch-size2', type=int, default=2, help='stage 2 (sequences)')
    p.add_argument('--lr-backbone', type=float, default=1e-5, help='paper: 1e-5')
    p.add_argument('--lr-rest', type=float, default=1e-4, help='paper: 1e-4')
    p.add_argument('--minutes', type=float, default=0.0, help='stage 1 wall-time budget')
    p.add_argument('--minutes2', type=float, default=0.0, help='stage 2 wall-time budget')
    p.add_argument('--device', default='cpu')
    p.add_argument('--amp', action='store_true', help='CUDA mixed precision')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--seed', type=int, default=0)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(message)s')
    try:
        results = run(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f'cvseq-train: error: {exc}', file=sys.stderr)
        return 2
    for name, path in results.items():
        print(f'{name}: {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
