"""Accuracy on held-out simulated data (towns and drives no training or tuning run used).

Run: ``OMP_NUM_THREADS=1 .venv/bin/python bench/bench_accuracy.py [--drives 10] [--duration 60]``.
Writes ``bench/results/accuracy.json`` (flat keys) and ``accuracy.md`` (pooled and per-drive
tables). Parts:

1. Single frames (``matching.frame_eval``, benchmark worlds 9000+): a tile centred N(0, 8 m) per
   axis from the truth, a heading prior with an N(0, 8 deg) error. ``network_*``: the default
   model (``shipped.DEFAULT_MODEL``; ``--model`` for another), ``geometric_*``: the training-free
   matcher on the same frames, ``tile_prior_median_m``: the tile centre as the answer.
2. Drives: ``--drives`` 60 s drives per GNSS profile (``default`` seeds 101+, ``urban`` seeds
   121+; ``--dev``: the development drives, default 301+ and urban 311+), replayed through
   the whole pipeline (cvseq-evaluate): raw GNSS (scored at its fixes), the GNSS-only filter
   and the filter with the default model (scored at every camera frame, dropouts included),
   pooled over the drives plus the worst drive. Keys ``gnss_*``, ``gnss_filter_*``,
   ``fused_*`` (default profile), ``urban_*``.
3. Cameras: ``--camera-drives`` drives rendered with the 'wide' (camera b) and 'tele' (camera c)
   presets and, on the same seeds, the default camera: ``camera_b_fused_mean_m`` etc.
4. ``--baseline-model`` / ``--tam-model``: the network alone's sequence mean (seed 004's metric,
   50 m windows) without and with the temporal module: ``baseline_seq_mean_m``,
   ``tam_seq_mean_m``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from cvseq_localizer.matching import GeometricMatcher
from cvseq_localizer.matching.frame_eval import BENCH_SEEDS, evaluate_engine, make_eval_frames
from cvseq_localizer.pipeline import PipelineConfig, load_engine_for
from cvseq_localizer.shipped import default_model
from cvseq_localizer.sim.camera import CAMERAS
from cvseq_localizer.sim.gnss_model import gnss_profile
from cvseq_localizer.sim.scenario import SimConfig
from cvseq_localizer.tools.evaluate import REFERENCE_ROWS, ROWS, evaluate
from cvseq_localizer.tools.replay import ReplayOptions, pipeline_for_bag
from cvseq_localizer.tools.sim_cli import write_scenario
from cvseq_localizer.train.metrics import consistency_stats, error_stats, pooled_sequence_stats

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / '.cache' / 'bench' / 'accuracy'
RESULTS = ROOT / 'bench' / 'results' / 'accuracy.json'
PROFILE_SEEDS = {'default': 101, 'urban': 121}
# Development drives (tuning only; never reported as results): --dev. Default 301-308 and
# 351-366, urban 311-346 and 351-380 were used to tune the Localizer and filter settings
# (bench/dev_fused.py runs any of them).
DEV_SEEDS = {'default': 301, 'urban': 311}
CAMERA_SEEDS = 141


def drive(seed: int, duration_s: float, profile: str = 'default', camera: str = 'default'):
    """A cached simulated drive: ``.../bag``."""
    folder = CACHE / f'drive_{seed}_{profile}_{camera}_{duration_s:g}s'
    if not (folder / 'scenario.json').exists():
        cfg = replace(SimConfig(duration_s=duration_s), gnss=gnss_profile(profile),
                      camera=CAMERAS[camera])  # fmt: skip
        write_scenario(folder, cfg, seed=seed, progress=False)
    return folder / 'bag'


def run_drive(bag: Path, model: str, tag: str, reference: bool = True) -> dict:
    pipeline = pipeline_for_bag(bag, model)
    out = CACHE / f'report_{tag}'
    return evaluate(bag, out, pipeline, ReplayOptions(progress=False), keep_errors=True,
                    reference=reference)  # fmt: skip


def pooled(summaries: list[dict], row: str) -> dict:
    runs = [s for s in summaries if row in s['errors']]
    if not runs:
        return {}
    errors = np.concatenate([s['errors'][row] for s in runs])
    windows = np.concatenate([s['window_means'][row] for s in runs])
    out = {**error_stats(errors), **pooled_sequence_stats(windows)}
    nees = [s['nees'][row] for s in runs if row in s.get('nees', {})]
    if nees:
        out.update(consistency_stats(np.concatenate(nees)))
    per_drive = [float(np.mean(s['errors'][row])) for s in runs if len(s['errors'][row])]
    out['worst_drive_mean_m'] = max(per_drive) if per_drive else float('nan')
    heading = [s['table'][row].get('heading_mean_deg') for s in runs]
    heading = [h for h in heading if h is not None and np.isfinite(h)]
    out['heading_mean_deg'] = float(np.mean(heading)) if heading else float('nan')
    out['per_drive_mean_m'] = per_drive
    return out


def single_frames(model: str, seeds: int, frames: int) -> dict:
    data = make_eval_frames(list(BENCH_SEEDS)[:seeds], frames, CAMERAS['default'],
                            np.random.default_rng(2026))  # fmt: skip
    engine = load_engine_for(PipelineConfig(model_path=str(model)))
    net = evaluate_engine(engine, data)
    geo = evaluate_engine(GeometricMatcher(), data)
    return {
        'network_median_m': net['median_m'],
        'network_within_4m': net['within_4m'],
        'network_within_1m': net['within_1m'],
        'network_heading_err_median_deg': net['heading_err_median_deg'],
        'geometric_median_m': geo['median_m'],
        'geometric_within_4m': geo['within_4m'],
        'geometric_within_1m': geo['within_1m'],
        'tile_prior_median_m': net['prior_median_m'],
        'single_frames': net['n_frames'],
    }


def profile_rows(profile: str, summaries: list[dict], prefix: str) -> tuple[dict, dict]:
    rows = {name: pooled(summaries, name) for name in (*ROWS, *REFERENCE_ROWS)}
    rows = {k: v for k, v in rows.items() if v}
    g, f, fused = rows[ROWS[0]], rows[ROWS[1]], rows.get(ROWS[3], {})
    keys = {
        f'{prefix}gnss_mean_m': g['mean_m'],
        f'{prefix}gnss_p99_m': g['p99_m'],
        f'{prefix}gnss_filter_mean_m': f['mean_m'],
        f'{prefix}gnss_filter_p99_m': f['p99_m'],
        f'{prefix}gnss_filter_nees_mean': f.get('nees_mean', float('nan')),
    }
    if fused:
        keys.update({
            f'{prefix}fused_mean_m': fused['mean_m'],
            f'{prefix}fused_median_m': fused['median_m'],
            f'{prefix}fused_p90_m': fused['p90_m'],
            f'{prefix}fused_p99_m': fused['p99_m'],
            f'{prefix}fused_worst_drive_mean_m': fused['worst_drive_mean_m'],
            f'{prefix}fused_heading_mean_deg': fused['heading_mean_deg'],
            f'{prefix}fused_nees_mean': fused.get('nees_mean', float('nan')),
            f'{prefix}fused_within_2sigma_frac': fused.get('within_2sigma_frac', float('nan')),
            f'{prefix}network_seq_mean_m': rows[ROWS[2]]['seq_mean_m'],
        })  # fmt: skip
    return keys, rows


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--drives', type=int, default=10, help='drives per GNSS profile')
    p.add_argument('--duration', type=float, default=60.0, help='drive length, s')
    p.add_argument('--camera-drives', type=int, default=2)
    p.add_argument('--camera-duration', type=float, default=30.0)
    p.add_argument('--frame-seeds', type=int, default=10, help='worlds for single frames')
    p.add_argument('--frames', type=int, default=10, help='single frames per world')
    p.add_argument('--model', default=None, help='default: shipped.DEFAULT_MODEL')
    p.add_argument('--baseline-model', default=None)
    p.add_argument('--tam-model', default=None)
    p.add_argument('--skip', nargs='*', default=[], choices=['frames', 'drives', 'cameras'])
    p.add_argument('--profiles', nargs='*', default=list(PROFILE_SEEDS), choices=PROFILE_SEEDS)
    p.add_argument('--dev', action='store_true',
                   help='development drives (DEV_SEEDS) instead of the benchmark ones; writes '
                   'accuracy_dev.json unless --out is given')  # fmt: skip
    p.add_argument('--out', type=Path, default=None, help='results JSON')
    p.add_argument('--merge', nargs='*', type=Path, default=[],
                   help='only merge these result JSONs (of parallel runs) into --out')  # fmt: skip
    args = p.parse_args(argv)
    if args.out is None:
        args.out = RESULTS.with_name('accuracy_dev.json') if args.dev else RESULTS
    if args.dev:  # single frames and cameras have no development worlds: drives only
        args.skip = sorted({*args.skip, 'frames', 'cameras'})
    if args.merge:
        return merge(args.merge, args.out)
    model = args.model or default_model()
    t0, load0 = time.time(), os.getloadavg()[0]
    results: dict = {'model': str(model), 'load_avg_start': load0, 'dev_seeds': args.dev}
    tables: dict = {}
    if 'frames' not in args.skip:
        results.update(single_frames(model, args.frame_seeds, args.frames))
        print(json.dumps(results, indent=2), flush=True)
    if 'drives' not in args.skip:
        for profile in args.profiles:
            seed0 = (DEV_SEEDS if args.dev else PROFILE_SEEDS)[profile]
            runs = [run_drive(drive(seed0 + i, args.duration, profile), model,
                              f'{profile}_{seed0 + i}') for i in range(args.drives)]  # fmt: skip
            keys, tables[profile] = profile_rows(profile, runs, '' if profile == 'default'
                                                 else f'{profile}_')  # fmt: skip
            results.update(keys)
            print(json.dumps(keys, indent=2), flush=True)
        results['drives_per_profile'] = args.drives
        results['drive_s'] = args.duration
    if 'cameras' not in args.skip:
        results.update(camera_runs(model, args.camera_drives, args.camera_duration, tables))
    if args.baseline_model and args.tam_model:
        results.update(tam_vs_baseline(args.baseline_model, args.tam_model, args.drives,
                                       args.duration))  # fmt: skip
    results['wall_s'] = time.time() - t0
    results['load_avg_end'] = os.getloadavg()[0]
    write(results, tables, args.out)
    return results


def merge(paths: list[Path], out: Path) -> dict:
    """One results file (and Markdown) from the JSON/Markdown of parallel runs."""
    results: dict = {}
    text = []
    for path in paths:
        results.update(json.loads(path.read_text()))
        if path.with_suffix('.md').exists():
            text.append(path.with_suffix('.md').read_text())
    out.write_text(json.dumps(results, indent=2))
    out.with_suffix('.md').write_text('\n'.join(text))
    print(json.dumps(results, indent=2))
    return results


def camera_runs(model: str, n: int, duration_s: float, tables: dict) -> dict:
    out = {}
    for tag, camera in (('a', 'default'), ('b', 'wide'), ('c', 'tele')):
        runs = [run_drive(drive(CAMERA_SEEDS + i, duration_s, 'default', camera), model,
                          f'camera_{camera}_{CAMERA_SEEDS + i}', reference=False)
                for i in range(n)]  # fmt: skip
        fused = pooled(runs, ROWS[3])
        tables[f'camera {tag} ({camera})'] = {ROWS[0]: pooled(runs, ROWS[0]), ROWS[3]: fused}
        out[f'camera_{tag}_fused_mean_m'] = fused.get('mean_m', float('nan'))
        out[f'camera_{tag}_gnss_mean_m'] = pooled(runs, ROWS[0])['mean_m']
    return out


def tam_vs_baseline(baseline: str, tam: str, n: int, duration_s: float) -> dict:
    out = {}
    for name, model in (('baseline', baseline), ('tam', tam)):
        runs = [run_drive(drive(PROFILE_SEEDS['default'] + i, duration_s), model,
                          f'{name}_{i}', reference=False) for i in range(n)]  # fmt: skip
        out[f'{name}_seq_mean_m'] = pooled(runs, ROWS[2])['seq_mean_m']
    return out


def write(results: dict, tables: dict, path: Path = RESULTS) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2))
    path.with_suffix('.md').write_text(markdown(tables))
    print(markdown(tables))
    print(json.dumps(results, indent=2))


def markdown(tables: dict) -> str:
    keys = ('mean_m', 'median_m', 'p90_m', 'p99_m', 'worst_drive_mean_m', 'heading_mean_deg',
            'nees_mean', 'within_2sigma_frac')  # fmt: skip
    out = []
    for group, rows in tables.items():
        out.append(f'\n### {group}\n\n| | mean | median | p90 | p99 | worst drive | heading (deg) '
                   '| NEES | in 2-sigma |\n' + '|---' * 9 + '|')  # fmt: skip
        for name, r in rows.items():
            cells = ' | '.join(f'{r.get(k, float("nan")):.2f}' for k in keys)
            out.append(f'| {name} | {cells} |')
        drives = {name: r.get('per_drive_mean_m', []) for name, r in rows.items()}
        out.append('\nPer-drive means (m): ' + '; '.join(
            f'{name}: ' + ', '.join(f'{v:.2f}' for v in vals) for name, vals in drives.items()
        ))  # fmt: skip
    return '\n'.join(out) + '\n'


if __name__ == '__main__':
    main()
