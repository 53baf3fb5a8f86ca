"""`cvseq-localizer demo`: simulate a drive, replay it with the shipped model, print the table.

The simulated drive is cached under ``.cache/demo`` (same seed, same drive); the report (Markdown,
JSON, PNG plots) goes to ``.cache/demo/report``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

SHIPPED_MODEL = Path(__file__).resolve().parents[2] / 'models' / 'small_tam.pt'


def shipped_model() -> Path | None:
    """The shipped TAM weights: the installed share directory first, then the repository."""
    try:
        from ament_index_python.packages import get_package_share_directory

        share = Path(get_package_share_directory('cvseq_localizer')) / 'models' / 'small_tam.pt'
        if share.is_file():
            return share
    except Exception:  # not installed as a ROS package (or ament_index missing): use the repo
        pass
    return SHIPPED_MODEL if SHIPPED_MODEL.is_file() else None


def simulate_cached(out: Path, seed: int, duration_s: float) -> Path:
    """The demo drive's bag, simulated once per (seed, duration)."""
    from cvseq_localizer.sim.scenario import SimConfig
    from cvseq_localizer.tools.sim_cli import write_scenario

    folder = out / f'sim_seed{seed}_{duration_s:g}s'
    if not (folder / 'scenario.json').is_file():
        print(f'simulating a {duration_s:g} s drive (seed {seed}) into {folder} ...')
        write_scenario(folder, SimConfig(duration_s=duration_s), seed, progress=True)
    return folder / 'bag'


def demo(args: argparse.Namespace) -> int:
    from cvseq_localizer.tools.evaluate import evaluate
    from cvseq_localizer.tools.replay import ReplayOptions, pipeline_from_args

    out = Path(args.out)
    bag = simulate_cached(out, args.seed, args.duration)
    model = Path(args.model) if args.model else shipped_model()
    if model is None:
        print('NOTE: no trained weights found (models/small_tam.pt): the network is untrained, '
              'so the demo shows the GNSS-only particle filter.')  # fmt: skip
    else:
        print(f'model: {model}')
    ns = argparse.Namespace(model=str(model or ''), engine=args.engine, device=args.device,
                            tiles='', zoom=None, seed=0, gnss_only=model is None)  # fmt: skip
    pipeline = pipeline_from_args(ns, bag)
    report = out / 'report'
    evaluate(bag, report, pipeline, ReplayOptions())
    print((report / 'report.md').read_text().split('\n\nRuns:')[0])
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
    return demo(args)


if __name__ == '__main__':
    sys.exit(main())
