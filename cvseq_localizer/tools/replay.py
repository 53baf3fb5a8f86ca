"""`cvseq-replay BAG --out DIR`: run the Localizer over a recorded bag as fast as the CPU allows.

Writes ``DIR/poses.csv`` (one row per camera frame with an estimate, plus the network-only argmax
position) and ``DIR/poses`` (a rosbag2 with ``/cvloc/pose``). Runs the shipped model unless
``--model`` names another or ``--gnss-only`` turns the network off.
"""

from __future__ import annotations

import argparse
import csv
import logging
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from cvseq_localizer.localizer import Localizer
from cvseq_localizer.pipeline import PipelineConfig, build_localizer
from cvseq_localizer.ros.conversions import (
    ConversionError,
    compressed_msg_to_rgb,
    estimate_to_pose_msg,
    image_msg_to_rgb,
    navsatfix_to_gnss,
    stamp_to_ns,
    twist_msg_to_odometry,
)
from cvseq_localizer.tiles.base import TileError
from cvseq_localizer.tools.bagio import (
    BagError,
    BagWriter,
    bag_topics,
    check_topics,
    read_messages,
)
from cvseq_localizer.tools.replay_args import (  # noqa: F401 (re-exported for the tools)
    add_bag_args,
    add_pipeline_args,
    pipeline_for_bag,
    pipeline_from_args,
    tiles_with_cache,
)
from cvseq_localizer.types import LocalizerHealth, LocalizerOutput

log = logging.getLogger(__name__)
CSV_FIELDS = [
    'stamp_ns', 'east_m', 'north_m', 'lat_deg', 'lon_deg', 'yaw_rad', 'yaw_var_rad2',
    'cov_ee_m2', 'cov_en_m2', 'cov_nn_m2', 'speed_mps', 'ess', 'gnss_only', 'diverged',
    'net_lat_deg', 'net_lon_deg',
]  # fmt: skip


@dataclass
class ReplayOptions:
    """What to read and how to run."""

    image_topic: str = '/camera/image_raw'
    fix_topic: str = '/gnss/fix'
    pose_topic: str = '/cvloc/pose'
    map_frame: str = 'map'
    storage: str = 'mcap'
    progress: bool = True
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    # nav_msgs/Odometry or TwistWithCovarianceStamped; used when the bag has it ('' = never)
    odom_topic: str = '/odom'
    strict: bool = False  # stop at the first bad record instead of counting and skipping it


@dataclass(frozen=True)
class ReplayPoses:
    """The replayed estimates in memory, one entry per camera frame with an estimate.

    ``net_*`` are the network's argmax position on that frame (NaN where it did not run).
    Degrees are WGS-84 (the CSV has the same values).
    """

    stamp_ns: np.ndarray  # (K,) int64
    lat_deg: np.ndarray  # (K,)
    lon_deg: np.ndarray  # (K,)
    yaw_rad: np.ndarray  # (K,) REP-103 (0 = east, counter-clockwise)
    net_lat_deg: np.ndarray  # (K,)
    net_lon_deg: np.ndarray  # (K,)
    cov_xy_m2: np.ndarray  # (K, 2, 2) position covariance in the localizer's ENU frame

    @classmethod
    def from_rows(cls, rows: list[dict]) -> ReplayPoses:
        def column(name: str, dtype: type = np.float64) -> np.ndarray:
            return np.array([r[name] for r in rows], dtype)

        ee, en, nn = column('cov_ee_m2'), column('cov_en_m2'), column('cov_nn_m2')
        cov = np.stack([np.stack([ee, en], -1), np.stack([en, nn], -1)], -2).reshape(-1, 2, 2)
        return cls(
            column('stamp_ns', np.int64), column('lat_deg'), column('lon_deg'),
            column('yaw_rad'), column('net_lat_deg'), column('net_lon_deg'), cov,
        )  # fmt: skip


@dataclass(frozen=True)
class SkippedRecord:
    """A bag message replay could not use (counted, listed in the report)."""

    topic: str
    stamp_ns: int  # record time
    kind: str  # the ConversionError kind
    message: str


@dataclass
class ReplayResult:
    csv_path: Path
    bag_path: Path
    frames: int
    estimates: int
    skipped_images: int
    stats: dict
    poses: ReplayPoses
    skipped: list[SkippedRecord] = field(default_factory=list)


def replay(bag: str | Path, out_dir: str | Path, options: ReplayOptions) -> ReplayResult:
    """Replay ``bag`` through a Localizer built from ``options.pipeline``.

    Raises:
        BagError: missing bag/topic, truncated or corrupt bag.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    check_topics(bag, [options.image_topic, options.fix_topic])
    topics = [options.image_topic, options.fix_topic]
    if options.odom_topic and options.odom_topic in bag_topics(bag):
        topics.append(options.odom_topic)
    localizer = build_localizer(options.pipeline)
    csv_path, bag_path = out_dir / 'poses.csv', out_dir / 'poses'
    if bag_path.exists():
        import shutil

        shutil.rmtree(bag_path)
    counts = {'frames': 0, 'skipped': 0}
    skipped: list[SkippedRecord] = []
    rows: list[dict] = []
    try:
        with open(csv_path, 'w', newline='') as fh, BagWriter(bag_path, options.storage) as out:
            writer = csv.DictWriter(fh, CSV_FIELDS)
            writer.writeheader()
            for msg in _progress(read_messages(bag, topics), options.progress):
                result = _feed_or_skip(localizer, msg, options, counts, skipped)
                if result is None or result.estimate is None:
                    continue
                est = result.estimate
                rows.append(_row(result))
                writer.writerow(rows[-1])
                out.write(
                    options.pose_topic,
                    est.stamp_ns,
                    estimate_to_pose_msg(est, options.map_frame, out.types),
                )
    finally:
        localizer.close()
    return ReplayResult(
        csv_path, bag_path, counts['frames'], len(rows), counts['skipped'],
        _stats(localizer.health()), ReplayPoses.from_rows(rows), skipped,
    )  # fmt: skip


def _progress(messages, enabled: bool):
    return tqdm(messages, desc='replay', unit='msg', disable=not enabled)


def _feed_or_skip(
    localizer: Localizer, item, options: ReplayOptions, counts: dict, skipped: list
) -> LocalizerOutput | None:
    """:func:`_feed`, with a bad record counted, listed and skipped (or raised: ``strict``)."""
    try:
        return _feed(localizer, item, options, counts)
    except ConversionError as exc:
        if options.strict:
            raise BagError(f'{item.topic} at {item.stamp_ns} ns: {exc}') from exc
        if item.topic == options.image_topic:
            counts['skipped'] += 1
        skipped.append(SkippedRecord(item.topic, int(item.stamp_ns), exc.kind, str(exc)))
        if len(skipped) == 1 or len(skipped) % 100 == 0:
            log.warning(
                'skipping bad record(s) (%d so far): %s: %s', len(skipped), item.topic, exc
            )
        return None


def _feed(
    localizer: Localizer, item, options: ReplayOptions, counts: dict
) -> LocalizerOutput | None:
    """The camera frame's output (``None`` for fixes and odometry).

    Raises:
        ConversionError: a message that cannot be converted.
    """
    msg = item.msg
    if item.topic == options.fix_topic:
        localizer.on_gnss(navsatfix_to_gnss(msg))
        return None
    if item.topic == options.odom_topic:
        localizer.on_odometry(twist_msg_to_odometry(msg))
        return None
    counts['frames'] += 1
    if item.msgtype.endswith('CompressedImage'):
        rgb = compressed_msg_to_rgb(msg)
    else:
        rgb = image_msg_to_rgb(msg)
    return localizer.on_image(stamp_to_ns(msg.header.stamp), rgb)


def _row(result: LocalizerOutput) -> dict:
    est = result.estimate
    net_lat, net_lon = result.network_latlon_deg or (math.nan, math.nan)
    cov = est.cov_xy_m2
    return {
        'stamp_ns': est.stamp_ns, 'east_m': est.xy_enu_m[0], 'north_m': est.xy_enu_m[1],
        'lat_deg': est.lat_deg, 'lon_deg': est.lon_deg, 'yaw_rad': est.yaw_rad,
        'yaw_var_rad2': est.yaw_var_rad2, 'cov_ee_m2': cov[0, 0], 'cov_en_m2': cov[0, 1],
        'cov_nn_m2': cov[1, 1], 'speed_mps': est.speed_mps, 'ess': est.ess,
        'gnss_only': int(est.gnss_only), 'diverged': int(est.diverged),
        'net_lat_deg': net_lat, 'net_lon_deg': net_lon,
    }  # fmt: skip


def _stats(h: LocalizerHealth) -> dict:
    return {
        'frames': h.frames,
        'frames_with_network': h.frames_with_network,
        'frames_without_tile': h.frames_without_tile,
        'frames_skipped': dict(sorted(h.frames_skipped.items())),
        'hidden_resets': sum(h.hidden_resets.values()),
        'hidden_shifts': h.hidden_shifts,
        'tiles_encoded': h.tiles_encoded,
        'fixes_rejected': h.fixes_rejected,
        'reinitializations': h.reinitializations,
    }


def run_replay(bag: Path, out: Path, options: ReplayOptions) -> int:
    """``cvseq-replay``: replay, print where the poses went; returns the exit code."""
    try:
        result = replay(bag, out, options)
    except BAG_ERRORS as exc:
        return cli_error('cvseq-replay', exc)
    print(f'{result.estimates} poses from {result.frames} frames -> {result.csv_path}')
    if result.skipped:
        print(f'skipped {len(result.skipped)} bad record(s): {skipped_summary(result.skipped)}')
    return 0


def skipped_summary(skipped: list[SkippedRecord]) -> str:
    """``'topic kind: count, ...'`` for the skipped records."""
    from collections import Counter

    counts = Counter(f'{r.topic} {r.kind}' for r in skipped)
    return ', '.join(f'{k}: {n}' for k, n in sorted(counts.items()))


BAG_ERRORS = (BagError, FileNotFoundError, ValueError, TileError, OSError)


def cli_error(prog: str, exc: BaseException) -> int:
    """Print ``prog: error: ...`` to stderr; the exit code of a bad input (2)."""
    print(f'{prog}: error: {exc}', file=sys.stderr)
    return 2


def bag_cli(
    prog: str,
    description: str | None,
    bag_help: str,
    run: Callable[[Path, Path, ReplayOptions], int],
    argv: list[str] | None,
    log_level: int,
) -> int:
    """The thin argparse wrapper of replay and evaluate: flags -> ``run(bag, out, options)``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    add_bag_args(parser, bag_help)
    args = parser.parse_args(argv)
    logging.basicConfig(level=log_level, format='%(levelname)s %(name)s: %(message)s')
    try:
        pipeline = pipeline_from_args(args, args.bag)
    except ValueError as exc:
        return cli_error(prog, exc)
    options = ReplayOptions(
        args.image_topic, args.fix_topic, odom_topic=args.odom_topic, strict=args.strict,
        pipeline=pipeline,
    )  # fmt: skip
    return run(args.bag, args.out, options)


def main(argv: list[str] | None = None) -> int:
    return bag_cli(
        'cvseq-replay', __doc__, 'rosbag2 directory (mcap or sqlite3)', run_replay, argv,
        logging.INFO,
    )  # fmt: skip


if __name__ == '__main__':
    sys.exit(main())
