"""Accuracy on held-out simulated drives (towns that training never saw), with cvseq-evaluate.

Run: ``.venv/bin/python bench/bench_accuracy.py [--drives 3] [--duration 60]``. For each drive
(seeds 101, 102, ...) it replays the shipped single-frame baseline (``models/small_baseline.pt``)
and the TAM model (``models/small_tam.pt``), and pools the errors over all drives:

- ``baseline_seq_mean_m`` / ``tam_seq_mean_m``: the network alone (argmax cell + offset per
  frame), the paper's sequence mean (mean over 50 m windows of each window's mean error);
- ``gnss_mean_m`` / ``gnss_p99_m``: raw GNSS; ``gnss_filter_mean_m``: the filter on GNSS alone;
- ``fused_mean_m`` / ``fused_p99_m``: the filter with GNSS + the TAM network.

Writes ``bench/results/accuracy.json`` and a Markdown table beside it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from cvseq_localizer.pipeline import PipelineConfig
from cvseq_localizer.shipped import REPO_MODELS_DIR, SHIPPED_MODEL_FILE
from cvseq_localizer.sim.scenario import SimConfig
from cvseq_localizer.tools.evaluate import ROWS, evaluate
from cvseq_localizer.tools.replay import ReplayOptions
from cvseq_localizer.tools.scenario_files import default_tiles_for_bag
from cvseq_localizer.tools.sim_cli import write_scenario
from cvseq_localizer.train.metrics import error_stats, pooled_sequence_stats

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / '.cache' / 'bench' / 'accuracy'
RESULTS = ROOT / 'bench' / 'results' / 'accuracy.json'
MODELS = {
    'baseline': ROOT / 'models' / 'small_baseline.pt',
    'tam': REPO_MODELS_DIR / SHIPPED_MODEL_FILE,
}


def drive(seed: int, duration_s: float) -> Path:
    folder = CACHE / f'drive_{seed}_{duration_s:g}s'
    if not (folder / 'scenario.json').exists():
        write_scenario(folder, SimConfig(duration_s=duration_s), seed=seed)
    return folder / 'bag'


def run(bag: Path, model: Path, out: Path) -> dict:
    tiles, zoom = default_tiles_for_bag(bag)
    pipeline = PipelineConfig(
        model_path=str(model), tiles=tiles, tile_zoom=zoom, tile_deadline_s=None
    )
    return evaluate(bag, out, pipeline, ReplayOptions(progress=False), keep_errors=True)


def pooled(summaries: list[dict], row: str) -> dict:
    errors = np.concatenate([s['errors'][row] for s in summaries])
    windows = np.concatenate([s['window_means'][row] for s in summaries])
    return {**error_stats(errors), **pooled_sequence_stats(windows)}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--drives', type=int, default=3)
    p.add_argument('--duration', type=float, default=60.0)
    args = p.parse_args(argv)
    missing = [str(m) for m in MODELS.values() if not m.exists()]
    if missing:
        raise SystemExit(f'bench_accuracy: missing shipped weights {missing} (see models/)')
    runs = {name: [] for name in MODELS}
    for i in range(args.drives):
        bag = drive(101 + i, args.duration)
        for name, model in MODELS.items():
            runs[name].append(run(bag, model, CACHE / f'report_{name}_{101 + i}'))
    tam, base = runs['tam'], runs['baseline']
    table = {
        'baseline network': pooled(base, ROWS[2]),
        'TAM network': pooled(tam, ROWS[2]),
        ROWS[0]: pooled(tam, ROWS[0]),
        ROWS[1]: pooled(tam, ROWS[1]),
        ROWS[3]: pooled(tam, ROWS[3]),
    }
    results = {
        'baseline_seq_mean_m': table['baseline network']['seq_mean_m'],
        'baseline_seq_median_m': table['baseline network']['seq_median_m'],
        'tam_seq_mean_m': table['TAM network']['seq_mean_m'],
        'tam_seq_median_m': table['TAM network']['seq_median_m'],
        'gnss_mean_m': table[ROWS[0]]['mean_m'],
        'gnss_p99_m': table[ROWS[0]]['p99_m'],
        'gnss_filter_mean_m': table[ROWS[1]]['mean_m'],
        'gnss_filter_p99_m': table[ROWS[1]]['p99_m'],
        'fused_mean_m': table[ROWS[3]]['mean_m'],
        'fused_median_m': table[ROWS[3]]['median_m'],
        'fused_p90_m': table[ROWS[3]]['p90_m'],
        'fused_p99_m': table[ROWS[3]]['p99_m'],
        'drives': args.drives,
        'drive_s': args.duration,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    RESULTS.with_suffix('.md').write_text(markdown(table))
    print(markdown(table))
    print(json.dumps(results, indent=2))
    return results


def markdown(table: dict) -> str:
    lines = ['| | mean | median | p90 | p95 | p99 | seq. mean | seq. median |', '|---' * 8 + '|']
    for name, r in table.items():
        keys = ('mean_m', 'median_m', 'p90_m', 'p95_m', 'p99_m', 'seq_mean_m', 'seq_median_m')
        lines.append(f'| {name} | ' + ' | '.join(f'{r[k]:.2f}' for k in keys) + ' |')
    return '\n'.join(lines) + '\n'


if __name__ == '__main__':
    main()
