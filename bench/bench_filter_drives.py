"""GNSS-only (and GNSS + odometry) particle filter over many simulated drives per GNSS profile.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python bench/bench_filter_drives.py`` (``--dev`` for the
tuning seeds, ``--drives N`` / ``--duration S`` to shorten). No camera images: the drive planner,
the GNSS error model and the odometry simulator feed the ``ParticleFilter`` in ENU directly.

Seeds: ``DEV_SEEDS`` were used to tune; the report (``bench/results/filter_drives.json``) uses
``BENCH_SEEDS`` only. Every epoch is a 10 Hz GNSS epoch; the filter's real-time output at the
epoch (everything that has *arrived* by then, predicted to the epoch) is scored against the
truth. Scopes: ``fix`` = epochs with a published fix (comparable with raw GNSS), ``all`` =
every epoch, ``dropout`` = epochs without a fix. Keys: ``{profile}_{run}_{scope}_{stat}``
(see ``summarize_run``); ``raw`` and ``bias_floor`` rows give the receiver's error and its
slowly drifting bias alone (the floor no GNSS-only filter gets below).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cvseq_localizer.filter import FilterConfig, ParticleFilter
from cvseq_localizer.geo import LocalFrame
from cvseq_localizer.sim.drive import DriveConfig, plan_drive
from cvseq_localizer.sim.gnss_model import gnss_profile, simulate_gnss
from cvseq_localizer.sim.odometry import OdometryConfig, simulate_odometry
from cvseq_localizer.sim.roads import RoadConfig, build_road_network
from cvseq_localizer.train import metrics

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ('open', 'default', 'urban')
DEV_SEEDS = tuple(range(9000, 9008))  # tuning only
BENCH_SEEDS = tuple(range(20))  # the report
GNSS_HZ = 10.0
ODOM_HZ = 20.0  # the simulator publishes 50 Hz; 20 Hz keeps this benchmark short
CAMERA_LAG_S = 0.5
NS = 1_000_000_000


@dataclass(frozen=True)
class Run:
    """One filter configuration: GNSS model, odometry on/off, fix latency (s)."""

    name: str
    gnss_model: str = 'robust'
    odometry: bool = False
    fix_latency_s: float = 0.0


RUNS = (
    Run('robust'),
    Run('robust_odom', odometry=True),
    Run('paper_gate', gnss_model='paper_gate'),
    Run('robust_lat300', fix_latency_s=0.3),
    Run('robust_odom_lat300', odometry=True, fix_latency_s=0.3),
)
DEFAULT_RUNS = ('robust', 'robust_odom', 'paper_gate', 'robust_lat300')


@dataclass
class Drive:
    """Truth at the GNSS epochs, the receiver output and the odometry of one drive."""

    stamp_ns: np.ndarray  # (N,)
    xy_enu_m: np.ndarray  # (N, 2)
    yaw_rad: np.ndarray
    speed_mps: np.ndarray
    fix_xy_enu_m: np.ndarray  # (N, 2), NaN without a fix
    fix_cov_m2: np.ndarray  # (N, 2, 2)
    published: np.ndarray  # (N,) bool: a message exists (NO_FIX messages are ignored here)
    bias_enu_m: np.ndarray  # (N, 2)
    odom: object


def make_drive(profile: str, seed: int, duration_s: float) -> Drive:
    """A drive on a fresh 800 m town with the profile's GNSS errors and odometry."""
    rng = np.random.default_rng([seed, PROFILES.index(profile)])
    net_rng, drive_rng, gnss_rng, odom_rng = rng.spawn(4)
    net = build_road_network(800.0, RoadConfig(), net_rng)
    plan = plan_drive(net, duration_s, DriveConfig(), drive_rng)
    n = int(duration_s * GNSS_HZ)
    stamps = np.round(np.arange(n) * NS / GNSS_HZ).astype(np.int64) + NS
    truth = plan.sample(stamps, NS)
    sim = simulate_gnss(stamps, truth.xy_enu_m, LocalFrame(50.0, 8.0), gnss_profile(profile),
                        gnss_rng)  # fmt: skip
    fix_xy = truth.xy_enu_m + sim.error_enu_m  # NaN where there is no position
    cov = np.full((n, 2, 2), np.nan)
    by_stamp = {f.stamp_ns: f for f in sim.fixes}
    for k in np.nonzero(sim.has_position)[0]:
        cov[k] = np.asarray(by_stamp[int(stamps[k])].cov_enu_m2)[:2, :2]
    odom = simulate_odometry(plan, NS, duration_s, OdometryConfig(rate_hz=ODOM_HZ), odom_rng)
    return Drive(stamps, truth.xy_enu_m, truth.yaw_rad, truth.speed_mps, fix_xy, cov,
                 sim.has_position, sim.bias_enu_m, odom)  # fmt: skip


def _events(drive: Drive, run: Run) -> list[tuple[int, int, int]]:
    """``(arrival_ns, kind, index)`` sorted by arrival; kind 0 = fix, 1 = odometry."""
    lat = int(run.fix_latency_s * NS)
    ev = [(int(t) + lat, 0, k) for k, t in enumerate(drive.stamp_ns) if drive.published[k]]
    if run.odometry:
        ev += [(int(t), 1, k) for k, t in enumerate(drive.odom.stamp_ns)]
    return sorted(ev)


def run_drive(drive: Drive, run: Run, seed: int) -> dict[str, np.ndarray]:
    """Real-time estimates at every epoch, plus the camera-lag probe (estimate at 0.5 s ago)."""
    pf = ParticleFilter(FilterConfig(gnss_model=run.gnss_model), np.random.default_rng(seed))
    events, j, o = _events(drive, run), 0, drive.odom
    n = len(drive.stamp_ns)
    out = {k: np.full((n, 2), np.nan) for k in ('xy', 'lag_xy')}
    out['cov'] = np.full((n, 2, 2), np.nan)
    out['yaw'] = np.full(n, np.nan)
    resets = 0
    lag_k = int(round(CAMERA_LAG_S * GNSS_HZ))
    for k, t in enumerate(drive.stamp_ns):
        while j < len(events) and events[j][0] <= t:
            _, kind, i = events[j]
            if kind == 0:
                r = pf.update_gnss(drive.stamp_ns[i], drive.fix_xy_enu_m[i], drive.fix_cov_m2[i])
            else:
                r = pf.update_odometry(o.stamp_ns[i], o.speed_mps[i], o.yaw_rate_radps[i],
                                       o.speed_var_m2ps2, o.yaw_rate_var_rad2ps2)  # fmt: skip
            resets += sum(e.kind == 'reset' for e in r.events)
            j += 1
        if not pf.is_initialized:
            continue
        resets += sum(e.kind == 'reset' for e in pf.predict(int(t)).events)
        est = pf.estimate()
        out['xy'][k], out['cov'][k], out['yaw'][k] = est.xy_enu_m, est.cov_xy_m2, est.yaw_rad
        if k >= lag_k and (k - lag_k) % 2 == 0:  # a frame stamped 0.5 s ago arrives (5 Hz)
            out['lag_xy'][k - lag_k] = pf.estimate_at(int(drive.stamp_ns[k - lag_k])).xy_enu_m
    out['resets'] = np.array(resets)
    return out


def _stats(prefix: str, err: np.ndarray) -> dict[str, float]:
    s = metrics.error_stats(err)
    return {f'{prefix}_{k}': v for k, v in s.items() if k != 'n'}


def summarize_run(profile: str, run: str, drives: list[Drive], outs: list[dict]) -> dict:
    """Pooled and per-drive statistics of one run on one profile (flat keys, units in names)."""
    p = f'{profile}_{run}'
    err = [np.hypot(*(o['xy'] - d.xy_enu_m).T) for d, o in zip(drives, outs)]
    fix = [d.published for d in drives]
    res = {}
    res.update(_stats(f'{p}_fix', np.concatenate([e[f] for e, f in zip(err, fix)])))
    res.update(_stats(f'{p}_all', np.concatenate(err)))
    res.update(_stats(f'{p}_dropout', np.concatenate([e[~f] for e, f in zip(err, fix)])))
    raw = [np.hypot(*(d.fix_xy_enu_m - d.xy_enu_m).T) for d in drives]
    ratios = [np.nanmean(e[f]) / np.nanmean(r[f]) for e, r, f in zip(err, raw, fix)]
    per_drive = [np.nanmean(e[f]) for e, f in zip(err, fix)]
    res[f'{p}_fix_worst_drive_mean_m'] = float(np.max(per_drive))
    res[f'{p}_fix_median_drive_mean_m'] = float(np.median(per_drive))
    res[f'{p}_fix_worst_drive_ratio_to_raw'] = float(np.max(ratios))
    moving = [d.speed_mps > 3.0 for d in drives]
    yaw_err = [metrics.heading_errors_rad(o['yaw'], d.yaw_rad) for d, o in zip(drives, outs)]
    h = np.concatenate([y[m] for y, m in zip(yaw_err, moving)])
    res[f'{p}_heading_moving_mean_deg'] = float(np.degrees(np.nanmean(h)))
    nees = np.concatenate([metrics.nees_2d(o['xy'] - d.xy_enu_m, o['cov'])
                           for d, o in zip(drives, outs)])  # fmt: skip
    res.update({f'{p}_{k}': v for k, v in metrics.consistency_stats(nees).items()})
    lag = np.concatenate([np.hypot(*(o['lag_xy'] - d.xy_enu_m).T) for d, o in zip(drives, outs)])
    lag_valid = np.concatenate([o['lag_xy'][: -int(CAMERA_LAG_S * GNSS_HZ) : 2, 0] for o in outs])
    res[f'{p}_camlag500_all_mean_m'] = float(np.nanmean(lag))
    res[f'{p}_camlag500_frames_with_estimate_frac'] = float(np.mean(np.isfinite(lag_valid)))
    res[f'{p}_resets'] = int(sum(int(o['resets']) for o in outs))
    return res


def reference_rows(profile: str, drives: list[Drive]) -> dict[str, float]:
    """Raw GNSS and its bias floor over the epochs with a fix."""
    res = {}
    raw = np.concatenate([np.hypot(*(d.fix_xy_enu_m - d.xy_enu_m).T)[d.published] for d in drives])
    floor = np.concatenate([np.hypot(*d.bias_enu_m.T)[d.published] for d in drives])
    res.update(_stats(f'{profile}_raw_fix', raw))
    res.update(_stats(f'{profile}_bias_floor_fix', floor))
    per = [np.nanmean(np.hypot(*(d.fix_xy_enu_m - d.xy_enu_m).T)) for d in drives]
    res[f'{profile}_raw_fix_worst_drive_mean_m'] = float(np.max(per))
    res[f'{profile}_dropout_epochs_frac'] = float(np.mean(np.concatenate(
        [~d.published for d in drives])))  # fmt: skip
    return res


def ratios(res: dict, profile: str) -> dict[str, float]:
    """Goal ratios against raw GNSS and against the run without latency."""
    out, p = {}, profile
    for run in ('robust', 'paper_gate', 'robust_odom'):
        for stat in ('mean', 'p99'):
            out[f'{p}_{run}_fix_{stat}_ratio_to_raw'] = (
                res[f'{p}_{run}_fix_{stat}_m'] / res[f'{p}_raw_fix_{stat}_m']
            )
    for base in ('robust', 'robust_odom'):
        if f'{p}_{base}_lat300_all_mean_m' in res:
            out[f'{p}_{base}_lat300_all_mean_ratio'] = (
                res[f'{p}_{base}_lat300_all_mean_m'] / res[f'{p}_{base}_all_mean_m']
            )
        out[f'{p}_{base}_camlag500_all_mean_ratio'] = (
            res[f'{p}_{base}_camlag500_all_mean_m'] / res[f'{p}_{base}_all_mean_m']
        )
    return out


def _progress(res: dict, profile: str, run: str, t0: float) -> None:
    p = f'{profile}_{run}'
    print(f'{profile:8s} {run:20s} fix mean {res[p + "_fix_mean_m"]:.2f} p99 '
          f'{res[p + "_fix_p99_m"]:.2f}  raw {res[profile + "_raw_fix_mean_m"]:.2f} / '
          f'{res[profile + "_raw_fix_p99_m"]:.2f}  ({time.perf_counter() - t0:.0f} s)',
          flush=True)  # fmt: skip


def main(seeds=BENCH_SEEDS, duration_s: float = 60.0, profiles=PROFILES, runs=RUNS,
         out_name: str = 'filter_drives.json') -> dict:  # fmt: skip
    res: dict = {'drives_per_profile': len(seeds), 'drive_duration_s': duration_s,
                 'gnss_rate_hz': GNSS_HZ, 'odometry_rate_hz': ODOM_HZ}  # fmt: skip
    t0 = time.perf_counter()
    for profile in profiles:
        drives = [make_drive(profile, s, duration_s) for s in seeds]
        res.update(reference_rows(profile, drives))
        for run in runs:
            outs = [run_drive(d, run, 100 + s) for d, s in zip(drives, seeds)]
            res.update(summarize_run(profile, run.name, drives, outs))
            _progress(res, profile, run.name, t0)
        if {r.name for r in runs} >= {'robust', 'robust_odom', 'paper_gate'}:
            res.update(ratios(res, profile))
    out_dir = ROOT / 'bench' / 'results'
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / out_name).write_text(json.dumps(res, indent=2, sort_keys=True) + '\n')
    return res


if __name__ == '__main__':
    logging.basicConfig(level=logging.ERROR)
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--dev', action='store_true', help='tuning seeds (writes *_dev.json)')
    ap.add_argument('--drives', type=int, default=None, help='use only the first N seeds')
    ap.add_argument('--duration', type=float, default=60.0, help='drive length, s')
    ap.add_argument('--profiles', nargs='+', default=list(PROFILES), choices=PROFILES)
    ap.add_argument('--runs', nargs='+', default=list(DEFAULT_RUNS),
                    choices=[r.name for r in RUNS])  # fmt: skip
    ap.add_argument('--out', default=None, help='result file name in bench/results/')
    ap.add_argument('--merge', nargs='+', default=None,
                    help='merge these result files into filter_drives.json and exit')  # fmt: skip
    a = ap.parse_args()
    if a.merge:
        merged: dict = {}
        for f in a.merge:
            merged.update(json.loads((ROOT / 'bench' / 'results' / f).read_text()))
        out = ROOT / 'bench' / 'results' / 'filter_drives.json'
        out.write_text(json.dumps(merged, indent=2, sort_keys=True) + '\n')
        raise SystemExit(0)
    seeds = DEV_SEEDS if a.dev else BENCH_SEEDS
    seeds = seeds[: a.drives] if a.drives else seeds
    runs = tuple(r for r in RUNS if r.name in a.runs)
    name = a.out or ('filter_drives_dev.json' if a.dev else 'filter_drives.json')
    main(seeds, a.duration, tuple(a.profiles), runs, name)
