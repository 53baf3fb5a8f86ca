"""``cvseq-train-geo``: train the geometry-aware model (stage 1 baseline, stage 2 TAM).

Example (the shipped model, this machine)::

    cvseq-train-geo --out .cache/train_geo --minutes1 40 --minutes2 20
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from cvseq_localizer.data.geo_stream import validation_set
from cvseq_localizer.model.geo_config import GeoConfig
from cvseq_localizer.train.geo_trainer import GeoTrainConfig, train_geo


def main(argv: list[str] | None = None) -> int:
    fmt = argparse.RawTextHelpFormatter
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=fmt)
    ap.add_argument('--out', default='.cache/train_geo')
    ap.add_argument('--preset', default='geo_small')
    ap.add_argument('--minutes1', type=float, default=40.0)
    ap.add_argument('--minutes2', type=float, default=20.0)
    ap.add_argument('--batch-size', type=int, default=4)
    ap.add_argument('--frames', type=int, default=4)
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--workers', type=int, default=1)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--val-worlds', type=int, default=8)
    ap.add_argument('--val-per-world', type=int, default=6)
    ap.add_argument('--val-every-min', type=float, default=5.0)
    ap.add_argument('--max-steps', type=int, default=0, help='per stage (smoke tests)')
    ap.add_argument('--override', default='{}', help='GeoConfig overrides as JSON')
    ap.add_argument('--stream', default='{}', help='GeoStreamConfig overrides as JSON')
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(name)s %(message)s')
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    overrides = json.loads(args.override)
    geo = GeoConfig.preset(args.preset, **overrides)
    val_file = out / f'val_{args.preset}_{args.val_worlds}x{args.val_per_world}.npz'
    if val_file.exists():
        with np.load(val_file) as z:
            val = [{k: z[k][i] for k in z.files} for i in range(len(z['sat']))]
    else:
        val = validation_set(geo, args.val_worlds, args.val_per_world)
        np.savez(val_file, **{k: np.stack([s[k] for s in val]) for k in val[0]})
    common = dict(
        preset=args.preset,
        batch_size=args.batch_size,
        frames=args.frames,
        lr=args.lr,
        workers=args.workers,
        threads=args.threads,
        val_every_min=args.val_every_min,
        max_steps=args.max_steps,
        stream=json.loads(args.stream),
    )
    if args.minutes1 > 0:
        train_geo(
            GeoTrainConfig(
                out_dir=str(out / 'stage1'),
                minutes=args.minutes1,
                overrides={**overrides, 'temporal': False},
                select='median_m',
                **common,
            ),
            val,
        )
    if args.minutes2 > 0:
        train_geo(
            GeoTrainConfig(
                out_dir=str(out / 'stage2'),
                minutes=args.minutes2,
                overrides={**overrides, 'temporal': True},
                init=str(out / 'stage1' / 'best.pt'),
                select='seq_mean_m',
                **{**common, 'lr': args.lr / 2},
            ),
            val,
        )
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
