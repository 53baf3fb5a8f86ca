"""Benchmark of the particle filter: update latency vs particle count, and synthetic accuracy.

Run: ``.venv/bin/python bench/bench_filter.py``. Prints JSON and writes
``bench/results/filter.json``. One update = predict + GNSS update + grid update (32 x 32 grid)
at 10 Hz; the target for 2000 particles is ``update_p50_ms < 2``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'test' / 'filter'))  # synthetic drives shared with the tests

from filter_synth import make_drive, make_grid, run_drive  # noqa: E402

from cvseq_localizer.filter import FilterConfig, ParticleFilter  # noqa: E402

SIZES = (500, 2000, 5000, 20000)
STEPS = 300


def _timed(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - t0) * 1e3


def time_updates(num_particles: int, flat_grid: bool = False) -> dict[str, np.ndarray]:
    """Per-step latencies (ms) of predict, GNSS and grid updates and the estimate."""
    pf = ParticleFilter(FilterConfig(num_particles=num_particles), np.random.default_rng(0))
    rng = np.random.default_rng(1)
    drive = make_drive(STEPS * 0.1, 10.0, 0.05)
    out: dict[str, list[float]] = {k: [] for k in ('predict', 'gnss', 'grid', 'estimate')}
    pf.update_gnss(0, drive.xy_enu_m[0], np.eye(2) * 9.0)
    for t, xy in zip(drive.stamps_ns[1:], drive.xy_enu_m[1:]):
        t = int(t)
        z = xy + 3.0 * rng.standard_normal(2)
        pts, p = make_grid(np.round(xy / 20.0) * 20.0, xy + rng.standard_normal(2), rng)
        if flat_grid:
            p = np.full_like(p, 1.0 / p.size)
        out['predict'].append(_timed(pf.predict, t))
        out['gnss'].append(_timed(pf.update_gnss, t, z, np.eye(2) * 9.0))
        out['grid'].append(_timed(pf.update_grid, t, pts, p, 2.28))
        out['estimate'].append(_timed(pf.estimate))
    return {k: np.asarray(v) for k, v in out.items()}


def accuracy(seeds: int = 4) -> dict[str, float]:
    """Mean position error (m) on 40 s synthetic drives at 10 m/s, GNSS 1 Hz sigma 3 m."""
    res: dict[str, float] = {}
    for name, yaw_rate in (('straight', 0.0), ('curved', 0.15)):
        for grid in (False, True):
            runs = [
                run_drive(
                    ParticleFilter(FilterConfig(), np.random.default_rng(s)),
                    make_drive(40.0, 10.0, yaw_rate),
                    s + 50,
                    grid,
                )
                for s in range(seeds)
            ]
            key = f'{name}_{"gnss_grid" if grid else "gnss_only"}'
            res[f'{key}_err_mean_m'] = float(np.mean([r.filter_err_m for r in runs]))
            res[f'{key}_yaw_err_mean_rad'] = float(np.mean([r.yaw_err_rad for r in runs]))
            res[f'{name}_raw_gnss_err_mean_m'] = float(np.mean([r.raw_gnss_err_m for r in runs]))
    return res


def main() -> dict[str, float]:
    results: dict[str, float] = {'steps': STEPS}
    for m in SIZES:
        lat = time_updates(m)
        total = lat['predict'] + lat['gnss'] + lat['grid']
        results[f'update_p50_ms_{m}'] = float(np.percentile(total, 50))
        results[f'update_p90_ms_{m}'] = float(np.percentile(total, 90))
        if m == 2000:
            results['update_p50_ms'] = results['update_p50_ms_2000']
            for k, v in lat.items():
                results[f'{k}_p50_ms_2000'] = float(np.percentile(v, 50))
    flat = time_updates(2000, flat_grid=True)
    flat_total = flat['predict'] + flat['gnss'] + flat['grid']
    results['update_p50_ms_2000_flat_grid'] = float(np.percentile(flat_total, 50))
    results.update(accuracy())
    out_dir = ROOT / 'bench' / 'results'
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / 'filter.json').write_text(json.dumps(results, indent=2) + '\n')
    print(json.dumps(results, indent=2))
    return results


if __name__ == '__main__':
    logging.basicConfig(level=logging.ERROR)
    main()
