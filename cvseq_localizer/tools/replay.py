"""`cvseq-replay BAG --out DIR`: run the Localizer over a recorded bag as fast as the CPU allows.

Writes ``DIR/poses.csv`` (one row per camera frame with an estimate, plus the network-only argmax
position) and ``DIR/poses`` (a rosbag2 with ``/cvloc/pose``).
"""

from __future__ import annotations

import argparse
import csv
import logging
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

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
)
from cvseq_localizer.tools.bagio import BagError, BagWriter, check_topics, read_messages
from cvseq_localizer.types import Estimate

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


@dataclass
class ReplayResult:
    csv_path: Path
    bag_path: Path
    frames: int
    estimates: int
    skipped_images: int
    stats: dict


def replay(bag: str | Path, out_dir: str | Path, options: ReplayOptions) -> ReplayResult:
    """Replay ``bag`` through a Localizer built from ``options.pipeline``.

    Raises:
        BagError: missing bag/topic, truncated or corrupt bag.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    check_topics(bag, [options.image_topic, options.fix_topic])
    localizer = build_localizer(options.pipeline)
    csv_path, bag_path = out_dir / 'poses.csv', out_dir / 'poses'
    if bag_path.exists():
        import shutil

        shutil.rmtree(bag_path)
    counts = {'frames': 0, 'estimates': 0, 'skipped': 0}
    try:
        with open(csv_path, 'w', newline='') as fh, BagWriter(bag_path, options.storage) as out:
            writer = csv.DictWriter(fh, CSV_FIELDS)
            writer.writeheader()
            for msg in _progress(
                read_messages(bag, [options.image_topic, options.fix_topic]), options.progress
            ):
                est = _feed(localizer, msg, options, counts)
                if est is not None:
                    counts['estimates'] += 1
                    writer.writerow(_row(est, localizer))
                    out.write(
                        options.pose_topic,
                        est.stamp_ns,
                        estimate_to_pose_msg(est, options.map_frame, out.types),
                    )
    finally:
        localizer.close()
    stats = _stats(localizer)
    return ReplayResult(
        csv_path, bag_path, counts['frames'], counts['estimates'], counts['skipped'], stats
    )


def _progress(messages, enabled: bool):
    return tqdm(messages, desc='replay', unit='msg', disable=not enabled)


def _feed(localizer: Localizer, item, options: ReplayOptions, counts: dict) -> Estimate | None:
    msg = item.msg
    if item.topic == options.fix_topic:
        fix = navsatfix_to_gnss(msg)
        localizer.on_gnss(fix.stamp_ns, fix)
        return None
    counts['frames'] += 1
    try:
        if item.msgtype.endswith('CompressedImage'):
            rgb = compressed_msg_to_rgb(msg)
        else:
            rgb = image_msg_to_rgb(msg)
    except ConversionError as exc:
        counts['skipped'] += 1
        if counts['skipped'] == 1:
            log.warning('skipping camera frame(s): %s', exc)
        return None
    return localizer.on_image(stamp_to_ns(msg.header.stamp), rgb)


def _row(est: Estimate, localizer: Localizer) -> dict:
    net_lat = net_lon = math.nan
    net = localizer.last_network_xy_enu_m
    if net is not None and localizer.last_belief is not None:
        if localizer.last_belief.stamp_ns == est.stamp_ns:
            lat, lon, _ = localizer.frame.to_geodetic(net[0], net[1])
            net_lat, net_lon = float(lat), float(lon)
    cov = est.cov_xy_m2
    return {
        'stamp_ns': est.stamp_ns, 'east_m': est.xy_enu_m[0], 'north_m': est.xy_enu_m[1],
        'lat_deg': est.lat_deg, 'lon_deg': est.lon_deg, 'yaw_rad': est.yaw_rad,
        'yaw_var_rad2': est.yaw_var_rad2, 'cov_ee_m2': cov[0, 0], 'cov_en_m2': cov[0, 1],
        'cov_nn_m2': cov[1, 1], 'speed_mps': est.speed_mps, 'ess': est.ess,
        'gnss_only': int(est.gnss_only), 'diverged': int(est.diverged),
        'net_lat_deg': net_lat, 'net_lon_deg': net_lon,
    }  # fmt: skip


def _stats(localizer: Localizer) -> dict:
    s = localizer.stats
    f = localizer.filter.stats
    return {
        'frames': s.frames,
        'frames_with_network': s.frames_with_network,
        'frames_without_tile': s.frames_without_tile,
        'hidden_resets': sum(s.hidden_resets.values()),
        'hidden_shifts': s.hidden_shifts,
        'tiles_encoded': s.tiles_encoded,
        'fixes_rejected': int(getattr(f, 'fixes_rejected', 0)),
        'reinitializations': int(getattr(f, 'reinitializations', 0)),
    }


def add_bag_args(parser: argparse.ArgumentParser, bag_help: str) -> None:
    """The bag, the output directory and the input topics (replay and evaluate)."""
    parser.add_argument('bag', type=Path, help=bag_help)
    parser.add_argument('--out', type=Path, required=True, help='output directory')
    parser.add_argument('--image-topic', default='/camera/image_raw')
    parser.add_argument('--fix-topic', default='/gnss/fix')
    add_pipeline_args(parser)


def add_pipeline_args(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by replay, evaluate and the demo."""
    parser.add_argument('--model', default='', help='checkpoint .pt or ONNX export dir')
    parser.add_argument('--engine', default='auto', choices=['auto', 'torch', 'onnx'])
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda[:N]'")
    parser.add_argument('--tiles', default='', help='tile source (default: next to the bag)')
    parser.add_argument('--zoom', type=int, default=None, help='source tile zoom')
    parser.add_argument('--seed', type=int, default=0, help='particle filter seed')
    parser.add_argument('--gnss-only', action='store_true', help='do not run the network')


def pipeline_from_args(args: argparse.Namespace, bag: Path) -> PipelineConfig:
    """PipelineConfig from CLI args; tiles/zoom default to the simulator's files by the bag."""
    from cvseq_localizer.tools.scenario_files import default_tiles_for_bag

    tiles, zoom = args.tiles, args.zoom
    if not tiles:
        tiles, found_zoom = default_tiles_for_bag(bag)
        zoom = zoom or found_zoom
    cfg = PipelineConfig(
        model_path='' if args.gnss_only else args.model,
        engine=args.engine,
        device=args.device,
        tiles=tiles,
        tile_zoom=zoom or 19,
        allow_gnss_only=args.gnss_only or not args.model,
        seed=args.seed,
    )
    cfg.localizer.tile_deadline_s = None  # offline: wait for every tile (deterministic)
    return cfg


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='cvseq-replay', description=__doc__)
    add_bag_args(parser, 'rosbag2 directory (mcap or sqlite3)')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')
    options = ReplayOptions(args.image_topic, args.fix_topic)
    options.pipeline = pipeline_from_args(args, args.bag)
    try:
        result = replay(args.bag, args.out, options)
    except (BagError, FileNotFoundError, ValueError) as exc:
        print(f'cvseq-replay: error: {exc}', file=sys.stderr)
        return 2
    print(f'{result.estimates} poses from {result.frames} frames -> {result.csv_path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
