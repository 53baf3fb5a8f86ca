"""Development runs of the fused filter: per-drive means on the development drives only.

Tuning tool, not a benchmark (it writes nothing under ``bench/results``). It replays the
development drives of ``bench_accuracy.py`` (default profile seeds 301+, urban 311+; benchmark
seeds are refused) with the default engine, optionally with Localizer / filter settings changed,
and prints raw GNSS and the fused filter per drive and pooled:

    OMP_NUM_THREADS=1 .venv/bin/python bench/dev_fused.py urban 311 12 \
        loc.network_confirm_heading_deg=20 flt.motion_check_grid_min_deg=30 --jobs 2

``loc.NAME=VALUE`` sets ``LocalizerConfig.NAME``, ``flt.NAME=VALUE`` ``FilterConfig.NAME``
(values are parsed as Python literals). Drives are generated once and cached with the benchmark's
own cache (``.cache/bench/accuracy``); do not generate the same new drive from two processes.
"""

from __future__ import annotations

import argparse
import ast
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_accuracy as ba  # noqa: E402

from cvseq_localizer.tools.evaluate import ROWS, poses_enu, raw_gnss, read_ground_truth, score  # noqa: E402
from cvseq_localizer.tools.replay import ReplayOptions, pipeline_for_bag, replay  # noqa: E402

BENCH_RANGES = {'default': range(101, 131), 'urban': range(121, 151), 'camera': range(141, 144)}


def parse_overrides(items: list[str]) -> tuple[dict, dict]:
    loc, flt = {}, {}
    for item in items:
        name, _, value = item.partition('=')
        scope, _, key = name.partition('.')
        if scope not in ('loc', 'flt') or not key or not value:
            raise SystemExit(f'override {item!r}: expected loc.NAME=VALUE or flt.NAME=VALUE')
        (loc if scope == 'loc' else flt)[key] = ast.literal_eval(value)
    return loc, flt


def run_one(args: tuple) -> dict:
    """Raw GNSS and the fused filter on one development drive."""
    profile, seed, duration, loc, flt = args
    bag = ba.drive(seed, duration, profile)
    pipeline = pipeline_for_bag(bag, None)
    lc = pipeline.localizer
    lc = replace(lc, **loc, filter=replace(lc.filter, **flt))
    pipeline = replace(pipeline, localizer=lc)
    frame, track = read_ground_truth(bag)
    g_stamps, g_xy = raw_gnss(bag, ReplayOptions().fix_topic, frame)
    raw = score(track, g_stamps, g_xy)
    out = ba.CACHE / f'dev_{profile}_{seed}'
    run = replay(bag, out, ReplayOptions(progress=False, pipeline=pipeline))
    est = poses_enu(run.poses, frame)
    fused = score(track, est['stamp_ns'], est['xy'], est['yaw'], est['cov'])
    # heading while moving, from 5 s after the first frame (the start-up excluded)
    stamps = est['stamp_ns']
    late = stamps > stamps[0] + 5_000_000_000
    moving = np.gradient(track.distance_at(stamps)) > 0.05
    herr = np.degrees(np.abs(np.angle(np.exp(1j * (est['yaw'] - track.yaw_at(stamps))))))
    settled = float(herr[late & moving].mean()) if np.any(late & moving) else float('nan')
    return {
        'seed': seed,
        'raw': raw['errors'],
        'fused': fused['errors'],
        'heading': fused.get('heading_mean_deg', float('nan')),
        'heading_settled': settled,
        'nees': fused.get('nees', np.zeros(0)),
        't_s': (stamps - stamps[0]) * 1e-9,
        'sigma_m': np.sqrt(np.trace(est['cov'], axis1=1, axis2=2)) if 'cov' in est else None,
        'skipped': run.stats.get('frames_skipped', {}),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('profile', choices=list(ba.DEV_SEEDS))
    p.add_argument('seed0', type=int)
    p.add_argument('n', type=int)
    p.add_argument('overrides', nargs='*', help='loc.NAME=VALUE / flt.NAME=VALUE')
    p.add_argument('--duration', type=float, default=40.0, help='drive length, s')
    p.add_argument('--jobs', type=int, default=1, help='parallel processes')
    p.add_argument('--dump', type=Path, help='write per-drive arrays (pickle-free .npz)')
    a = p.parse_args(argv)
    seeds = list(range(a.seed0, a.seed0 + a.n))
    taken = [s for s in seeds if any(s in r for r in BENCH_RANGES.values())]
    if taken:
        raise SystemExit(f'seeds {taken} are benchmark drives: never tune on them')
    loc, flt = parse_overrides(a.overrides)
    jobs = [(a.profile, s, a.duration, loc, flt) for s in seeds]
    with ProcessPoolExecutor(max(1, a.jobs)) as pool:
        results = list(pool.map(run_one, jobs))
    print(f'{ROWS[0]} vs fused, {a.profile}, overrides {loc} {flt}')
    for r in results:
        print(f"  seed {r['seed']}: raw {np.mean(r['raw']):6.2f}  fused {np.mean(r['fused']):6.2f}"
              f"  p99 {np.percentile(r['fused'], 99):6.2f}  NEES {np.mean(r['nees']):6.1f}"
              f"  heading {r['heading']:5.1f}"
              f" (after 5 s {r['heading_settled']:4.1f})"
              f"  skipped {r['skipped']}")  # fmt: skip
    if a.dump:
        arrays = {
            f'{k}_{r["seed"]}': np.asarray(r[k])
            for r in results
            for k in ('fused', 't_s', 'nees', 'sigma_m')
            if r.get(k) is not None
        }
        np.savez(a.dump, **arrays)
    raw = np.concatenate([r['raw'] for r in results])
    fused = np.concatenate([r['fused'] for r in results])
    nees = np.concatenate([r['nees'] for r in results])
    means = [float(np.mean(r['fused'])) for r in results]
    ratio = fused.mean() / raw.mean()
    print(f'pooled: raw {raw.mean():.2f} / p99 {np.percentile(raw, 99):.2f}; fused '
          f'{fused.mean():.2f} / p99 {np.percentile(fused, 99):.2f} ({ratio:.2f} x raw); '
          f'worst drive {max(means):.2f}; NEES {np.mean(nees):.2f}; heading '
          f"{np.nanmean([r['heading'] for r in results]):.1f} deg, after the first 5 s "
          f"{np.nanmean([r['heading_settled'] for r in results]):.1f}")  # fmt: skip


if __name__ == '__main__':
    main()
