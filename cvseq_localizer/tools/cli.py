"""`cvseq-localizer demo`: simulate a drive, replay it with the shipped model, print the table.

The simulated drive is cached under ``.cache/demo`` (same seed, same drive); the report (Markdown,
JSON, PNG plots) goes to ``.cache/demo/report``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from cvseq_localizer.shipped import DEFAULT_MODEL, default_model


def simulate_cached(out: Path, seed: int, duration_s: float) -> Path:
    """The demo drive's bag, simulated once per (seed, duration)."""
    from cvseq_localizer.sim.scenario import SimConfig
    from cvseq_localizer.tools.sim_cli import write_scenario

    folder = out / f'sim_seed{seed}_{duration_s:g}s'
    if not (folder / 'scenario.json').is_file():
        print(f'simulating a {duration_s:g} s drive (seed {seed}) into {folder} ...')
        write_scenario(folder, SimConfig(duration_s=duration_s), seed, progress=True)
    return folder / 'bag'


def demo(
    out: Path,
    seed: int = 7,
    duration_s: float = 60.0,
    model: Path | None = None,
    engine: str = 'auto',
    device: str = 'cpu',
) -> int:
    """Simulate (cached), evaluate ``model`` (default: the shipped weights), print the table."""
    from cvseq_localizer.tools.evaluate import evaluate, summary_table
    from cvseq_localizer.tools.replay import ReplayOptions, pipeline_for_bag

    out = Path(out)
    bag = simulate_cached(out, seed, duration_s)
    model = model or default_model()
    if model is None:
        print(f'NOTE: no trained weights found (models/{DEFAULT_MODEL}): the demo shows the '
              'GNSS-only particle filter.')  # fmt: skip
    else:
        print(f'model: {model}')
    pipeline = pipeline_for_bag(
        bag, model, gnss_only=model is None, engine=engine, device=device, seed=0
    )
    report = out / 'report'
    summary = evaluate(bag, report, pipeline, ReplayOptions())
    print(summary_table(summary))
    print(f'\nfull report with plots: {report / "report.md"}')
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='cvseq-localizer', description=__doc__)
    sub = parser.add_subparsers(dest='command', required=True)
    d = sub.add_parser('demo', help='simulate a drive, replay it, print the accuracy table')
    d.add_argument('--out', default='.cache/demo', help='cache and report directory')
    d.add_argument('--seed', type=int, default=7, help='simulation seed')
    d.add_argument('--duration', type=float, default=60.0, help='drive length, seconds')
    d.add_argument('--model', default='', help='checkpoint (default: the shipped weights)')
    d.add_argument('--engine', default='auto', choices=['auto', 'torch', 'onnx'])
    d.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s: %(message)s')
    return demo(
        Path(args.out), args.seed, args.duration, Path(args.model) if args.model else None,
        args.engine, args.device,
    )  # fmt: skip


if __name__ == '__main__':
    sys.exit(main())
