"""`cvseq-evaluate BAG --out DIR`: accuracy of raw GNSS, GNSS-only filter, network alone and
GNSS + network filter against the bag's ground truth, as Markdown/JSON tables and PNG plots.

Position errors are reported in the form of seed 004's Table III (mean, median, p90, p95, p99)
plus the paper's sequence mean/median (50 m windows). Runs the shipped model unless ``--model``
names another or ``--gnss-only`` turns the network off.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from cvseq_localizer.geo import LocalFrame
from cvseq_localizer.pipeline import GEOMETRIC, PipelineConfig
from cvseq_localizer.ros.conversions import navsatfix_to_gnss, quaternion_to_yaw, stamp_to_ns
from cvseq_localizer.tools.bagio import BagError, bag_topics, read_messages
from cvseq_localizer.tools.replay import (
    BAG_ERRORS,
    ReplayOptions,
    ReplayPoses,
    bag_cli,
    cli_error,
    replay,
)
from cvseq_localizer.train.metrics import (
    consistency_stats,
    error_stats,
    heading_errors_rad,
    nees_2d,
    pooled_sequence_stats,
    window_means,
)

log = logging.getLogger(__name__)
GT_FIX_TOPIC = '/ground_truth/fix'
GT_ODOM_TOPIC = '/ground_truth/odometry'
ROWS = ('raw GNSS', 'filter: GNSS only', 'network only (argmax)', 'filter: GNSS + network')
# The training-free geometric matcher (no weights) in the same run, so that every report shows
# what the learned model adds over geometry alone.
REFERENCE_ROWS = ('geometric matcher only (argmax)', 'filter: GNSS + geometric matcher')


class Track:
    """Time-stamped ENU positions with interpolation (ground truth)."""

    def __init__(self, stamps_ns: np.ndarray, xy: np.ndarray, yaw: np.ndarray | None = None):
        order = np.argsort(stamps_ns)
        self.t = (np.asarray(stamps_ns, np.int64)[order] - stamps_ns.min()) * 1e-9
        self.t0_ns = int(stamps_ns.min())
        self.xy = np.asarray(xy)[order]
        self.yaw = None if yaw is None else np.unwrap(np.asarray(yaw)[order])
        step = np.hypot(*np.diff(self.xy, axis=0).T)
        self.dist = np.concatenate([[0.0], np.cumsum(step)])

    def _s(self, stamps_ns: np.ndarray) -> np.ndarray:
        return (np.asarray(stamps_ns, np.int64) - self.t0_ns) * 1e-9

    def at(self, stamps_ns: np.ndarray) -> np.ndarray:
        s = self._s(stamps_ns)
        return np.stack(
            [np.interp(s, self.t, self.xy[:, 0]), np.interp(s, self.t, self.xy[:, 1])], 1
        )

    def distance_at(self, stamps_ns: np.ndarray) -> np.ndarray:
        return np.interp(self._s(stamps_ns), self.t, self.dist)

    def yaw_at(self, stamps_ns: np.ndarray) -> np.ndarray | None:
        return None if self.yaw is None else np.interp(self._s(stamps_ns), self.t, self.yaw)


def read_ground_truth(bag: Path) -> tuple[LocalFrame, Track]:
    """Ground truth from ``/ground_truth/fix`` (+ yaw from ``/ground_truth/odometry``)."""
    fixes = [navsatfix_to_gnss(m.msg) for m in read_messages(bag, [GT_FIX_TOPIC])]
    if not fixes:
        raise BagError(f'bag {bag} has no messages on {GT_FIX_TOPIC}')
    frame = LocalFrame(fixes[0].lat_deg, fixes[0].lon_deg)
    stamps = np.array([f.stamp_ns for f in fixes], np.int64)
    e, n, _ = frame.to_enu(
        np.array([f.lat_deg for f in fixes]), np.array([f.lon_deg for f in fixes])
    )
    yaw = None
    if GT_ODOM_TOPIC in bag_topics(bag):
        odom = [(stamp_to_ns(m.msg.header.stamp), quaternion_to_yaw(m.msg.pose.pose.orientation))
                for m in read_messages(bag, [GT_ODOM_TOPIC])]  # fmt: skip
        t_odom = np.array([o[0] for o in odom], np.int64)
        yaw_track = Track(t_odom, np.zeros((len(odom), 2)), np.array([o[1] for o in odom]))
        yaw = yaw_track.yaw_at(stamps)
    return frame, Track(stamps, np.stack([e, n], 1), yaw)


def raw_gnss(bag: Path, fix_topic: str, frame: LocalFrame) -> tuple[np.ndarray, np.ndarray]:
    """Usable raw fixes: ``(stamps_ns, xy_enu_m)``."""
    fixes = [navsatfix_to_gnss(m.msg) for m in read_messages(bag, [fix_topic])]
    fixes = [f for f in fixes if f.is_usable()]
    stamps = np.array([f.stamp_ns for f in fixes], np.int64)
    e, n, _ = frame.to_enu(
        np.array([f.lat_deg for f in fixes]), np.array([f.lon_deg for f in fixes])
    )
    return stamps, np.stack([np.atleast_1d(e), np.atleast_1d(n)], 1)


def poses_enu(poses: ReplayPoses, frame: LocalFrame, network: bool = False) -> dict:
    """Replayed positions in ``frame`` (the ground truth's): ``stamp_ns``, ``xy`` (and ``yaw``);
    ``network=True`` takes the network-only argmax positions (frames where it ran)."""
    lat = poses.net_lat_deg if network else poses.lat_deg
    lon = poses.net_lon_deg if network else poses.lon_deg
    ok = np.isfinite(lat) & np.isfinite(lon)
    e, n, _ = frame.to_enu(lat[ok], lon[ok]) if ok.any() else (np.zeros(0), np.zeros(0), None)
    out = {'stamp_ns': poses.stamp_ns[ok], 'xy': np.stack([np.atleast_1d(e), np.atleast_1d(n)], 1)}
    if not network:
        out['yaw'] = poses.yaw_rad[ok]
        out['cov'] = poses.cov_xy_m2[ok]
    return out


def score(track: Track, stamps: np.ndarray, xy: np.ndarray, yaw=None, cov=None) -> dict:
    """Error statistics of positions against the track (and heading if given; with the
    estimator's ``(N, 2, 2)`` covariance also the NEES and the 1-/2-sigma ellipse shares)."""
    if len(stamps) == 0:
        return {**error_stats(np.zeros(0)), **pooled_sequence_stats(np.zeros(0))}
    err_xy = xy - track.at(stamps)
    err = np.hypot(*err_xy.T)
    windows = window_means(err, track.distance_at(stamps))
    result = {**error_stats(err), **pooled_sequence_stats(windows), 'window_means': windows}
    yaw_true = track.yaw_at(stamps)
    if yaw is not None and yaw_true is not None:
        moving = np.gradient(track.distance_at(stamps)) > 0.05 if len(stamps) > 2 else None
        herr = np.degrees(heading_errors_rad(yaw, yaw_true))
        if moving is not None:
            herr = herr[moving]
        result['heading_mean_deg'] = float(herr.mean()) if herr.size else math.nan
    if cov is not None:
        nees = nees_2d(err_xy, cov)
        result.update(consistency_stats(nees))
        result['nees'] = nees
    result['errors'] = err
    result['stamps'] = stamps
    return result


def evaluate(
    bag: Path,
    out_dir: Path,
    pipeline: PipelineConfig,
    options: ReplayOptions,
    keep_errors: bool = False,
    reference: bool = True,
) -> dict:
    """Replay (GNSS only, GNSS + network, and with ``reference`` GNSS + the training-free
    geometric matcher when the model is a learned one), score everything, write the report.

    Raw GNSS is scored at its fixes only (it has no estimate between or without fixes); the
    filters at every camera frame with an estimate, dropouts included.
    With ``keep_errors`` the summary also holds ``errors``, ``window_means`` and ``nees`` arrays
    per row (for pooling several drives; not written to ``metrics.json``).
    """
    out_dir = Path(out_dir)
    frame, track = read_ground_truth(bag)
    results, runs = {}, {}
    g_stamps, g_xy = raw_gnss(bag, options.fix_topic, frame)
    results[ROWS[0]] = score(track, g_stamps, g_xy)
    gnss_cfg = replace(pipeline, model_path='', allow_gnss_only=True)
    runs['gnss'] = replay(bag, out_dir / 'gnss_only', replace(options, pipeline=gnss_cfg))
    est = poses_enu(runs['gnss'].poses, frame)
    results[ROWS[1]] = score(track, est['stamp_ns'], est['xy'], est['yaw'], est['cov'])
    trajectories = {'ground truth': track.xy, 'raw GNSS': g_xy, ROWS[1]: est['xy']}
    networks = [('fused', pipeline, ROWS[2:])]
    if reference and pipeline.model_path and pipeline.model_path != GEOMETRIC:
        networks.append(('geometric', replace(pipeline, model_path=GEOMETRIC), REFERENCE_ROWS))
    for name, cfg, (alone_row, fused_row) in networks if pipeline.model_path else []:
        runs[name] = replay(bag, out_dir / name, replace(options, pipeline=cfg))
        net = poses_enu(runs[name].poses, frame, network=True)
        results[alone_row] = score(track, net['stamp_ns'], net['xy'])
        est = poses_enu(runs[name].poses, frame)
        results[fused_row] = score(track, est['stamp_ns'], est['xy'], est['yaw'], est['cov'])
        trajectories[fused_row] = est['xy']
    summary = _summary(results, runs, pipeline)
    write_report(out_dir, summary, results, trajectories, track, frame, pipeline)
    if keep_errors:
        summary['errors'] = {name: r.get('errors', np.zeros(0)) for name, r in results.items()}
        summary['window_means'] = {name: r['window_means'] for name, r in results.items()}
        summary['nees'] = {name: r['nees'] for name, r in results.items() if 'nees' in r}
    return summary


def _summary(results: dict, runs: dict, pipeline: PipelineConfig) -> dict:
    drop = ('errors', 'stamps', 'window_means', 'nees')
    table = {name: {k: v for k, v in r.items() if k not in drop}
             for name, r in results.items()}  # fmt: skip
    return {
        'model': pipeline.model_path or None,
        'table': table,
        'runs': {
            name: run.stats | {'skipped_images': run.skipped_images} for name, run in runs.items()
        },  # fmt: skip
        'skipped': skipped_records(runs),
    }


MAX_LISTED_SKIPS = 200  # per run; the count covers all of them


def skipped_records(runs: dict) -> dict:
    """Per run, the bad records replay skipped: ``{'count': n, 'records': [{'topic',
    'stamp_ns', 'kind'}, ...]}`` (the first :data:`MAX_LISTED_SKIPS`), for report and JSON."""
    return {
        name: {
            'count': len(run.skipped),
            'records': [
                {'topic': r.topic, 'stamp_ns': r.stamp_ns, 'kind': r.kind}
                for r in run.skipped[:MAX_LISTED_SKIPS]
            ],
        }
        for name, run in runs.items()
    }


def skipped_markdown(skipped: dict) -> str:
    """The skipped records of :func:`skipped_records` as a Markdown section ('' without any)."""
    lines = []
    for name, entry in skipped.items():
        if not entry['count']:
            continue
        records = entry['records']
        lines.append(f'- {name}: {entry["count"]} record(s) skipped')
        lines += [f'  - `{r["topic"]}` at {r["stamp_ns"]} ns: {r["kind"]}' for r in records]
        if entry['count'] > len(records):
            lines.append(f'  - ... {entry["count"] - len(records)} more')
    return '\n\nSkipped bad records:\n' + '\n'.join(lines) if lines else ''


def write_report(out_dir, summary, results, trajectories, track, frame, pipeline) -> None:
    """``report.md``, ``metrics.json`` and the PNG plots."""
    from cvseq_localizer.tools.report_plots import plot_all

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / 'metrics.json').write_text(json.dumps(summary, indent=2, default=_json_default))
    plots = plot_all(out_dir, results, trajectories, frame, pipeline)
    (out_dir / 'report.md').write_text(markdown_report(summary, plots))


def _json_default(value):
    if isinstance(value, float | np.floating) and not math.isfinite(value):
        return None
    return float(value) if isinstance(value, np.floating) else str(value)


def summary_table(summary: dict) -> str:
    """The heading, the model and the accuracy table (what the CLIs print)."""
    head = ('| | mean | median | p90 | p95 | p99 | seq. mean | seq. median | heading '
            '| NEES | in 2-sigma |\n' + '|---' * 11 + '|\n')  # fmt: skip
    lines = []
    for name, r in summary['table'].items():
        vals = [r['mean_m'], r['median_m'], r['p90_m'], r['p95_m'], r['p99_m'],
                r['seq_mean_m'], r['seq_median_m']]  # fmt: skip
        cells = ' | '.join(f'{v:.2f} m' if math.isfinite(v) else '-' for v in vals)
        heading = r.get('heading_mean_deg', math.nan)
        nees, inside = r.get('nees_mean', math.nan), r.get('within_2sigma_frac', math.nan)
        lines.append(f'| {name} | {cells} | '
                     f'{f"{heading:.1f} deg" if math.isfinite(heading) else "-"} | '
                     f'{f"{nees:.2f}" if math.isfinite(nees) else "-"} | '
                     f'{f"{100 * inside:.0f} %" if math.isfinite(inside) else "-"} |')  # fmt: skip
    model = summary['model'] or 'none (GNSS only)'
    note = ('Raw GNSS is scored at its fixes only; the filters at every camera frame with an '
            'estimate (dropouts included). NEES: normalised estimation error squared of the '
            "filter's covariance (2 = consistent); in 2-sigma: share of errors inside the "
            '2-sigma ellipse (86 % for a consistent Gaussian).')  # fmt: skip
    return (f'# Localisation accuracy\n\nModel: `{model}`\n\n{head}' + '\n'.join(lines)
            + f'\n\n{note}')  # fmt: skip


def markdown_report(summary: dict, plots: list[str]) -> str:
    """The evaluation as Markdown: :func:`summary_table`, the run counters, plot links."""
    runs = '\n'.join(f'- {name}: ' + ', '.join(f'{k} {v}' for k, v in stats.items())
                     for name, stats in summary['runs'].items())  # fmt: skip
    images = '\n'.join(f'![{p}]({p})' for p in plots)
    skipped = skipped_markdown(summary.get('skipped', {}))
    return f'{summary_table(summary)}\n\nRuns:\n{runs}{skipped}\n\n{images}\n'


def run_evaluate(bag: Path, out: Path, options: ReplayOptions) -> int:
    """``cvseq-evaluate``: evaluate, print the table; returns the exit code."""
    try:
        summary = evaluate(bag, out, options.pipeline, options)
    except BAG_ERRORS as exc:
        return cli_error('cvseq-evaluate', exc)
    print(summary_table(summary))
    print(f'\nreport: {Path(out) / "report.md"}')
    return 0


def main(argv: list[str] | None = None) -> int:
    return bag_cli(
        'cvseq-evaluate', __doc__, 'rosbag2 with ground truth (/ground_truth/fix)', run_evaluate,
        argv, logging.WARNING,
    )  # fmt: skip


if __name__ == '__main__':
    sys.exit(main())
