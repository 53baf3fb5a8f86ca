"""`cvseq-sim`: simulate a drive and write a rosbag2, an MBTiles tile source and scenario.json.

Example::

    cvseq-sim --out .cache/sim/run0 --seed 0 --duration 60 --storage mcap [--camera wide]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from cvseq_localizer.geo.camera import CameraModel
from cvseq_localizer.ros.conversions import (
    estimate_to_odometry,
    gnss_to_navsatfix,
    make_header,
    rgb_to_image_msg,
)
from cvseq_localizer.sim.aerial import write_tile_pyramid
from cvseq_localizer.sim.camera import CAMERAS, as_camera_model
from cvseq_localizer.sim.gnss_model import GNSS_PROFILES, error_stats, gnss_profile
from cvseq_localizer.sim.scenario import Scenario, SimConfig, simulate_drive
from cvseq_localizer.tiles.mbtiles import MBTilesWriter
from cvseq_localizer.tools.bagio import BagWriter
from cvseq_localizer.tools.sim_camera_msgs import camera_info_msg, tf_static_msg
from cvseq_localizer.types import COVARIANCE_TYPE_KNOWN, Estimate, GnssFix

log = logging.getLogger(__name__)

TOPICS = {
    'image': '/camera/image_raw',
    'gnss': '/gnss/fix',
    'gt_odometry': '/ground_truth/odometry',
    'gt_fix': '/ground_truth/fix',
    'camera_info': '/camera/camera_info',
    'tf_static': '/tf_static',
    'odom': '/odom',
}
FRAMES = {'camera': 'camera_optical', 'gnss': 'gnss', 'map': 'map', 'base_link': 'base_link',
          'odom': 'odom'}  # fmt: skip
BAG_DIR, TILES_FILE, SCENARIO_FILE = 'bag', 'tiles.mbtiles', 'scenario.json'


def _truth_messages(scenario: Scenario, types) -> list[tuple[int, str, object]]:
    """Ground-truth odometry and exact fixes at every camera and GNSS stamp."""
    stamps = np.union1d(scenario.camera_poses.stamp_ns, scenario.gnss_poses.stamp_ns)
    truth = scenario.plan.sample(stamps, scenario.config.start_ns)
    frame = scenario.world.frame
    lat, lon, alt = frame.to_geodetic(truth.xy_enu_m[:, 0], truth.xy_enu_m[:, 1])
    out = []
    for k, stamp in enumerate(stamps.tolist()):
        est = Estimate(
            stamp, truth.xy_enu_m[k], np.zeros((2, 2)), float(truth.yaw_rad[k]), 0.0,
            float(truth.speed_mps[k]), ess=0.0, gnss_only=False,
            lat_deg=float(lat[k]), lon_deg=float(lon[k]),
        )  # fmt: skip
        odom = estimate_to_odometry(est, FRAMES['map'], FRAMES['base_link'], types)
        fix = GnssFix(stamp, float(lat[k]), float(lon[k]), float(alt[k]), np.zeros((3, 3)),
                      COVARIANCE_TYPE_KNOWN)  # fmt: skip
        out.append((stamp, TOPICS['gt_odometry'], odom))
        out.append((stamp, TOPICS['gt_fix'], gnss_to_navsatfix(fix, FRAMES['map'], types)))
    return out


def _odometry_messages(scenario: Scenario, types) -> list[tuple[int, str, object]]:
    """``nav_msgs/Odometry`` on ``/odom``: twist only (signed forward speed, yaw rate) with its
    variances; the pose is unknown (covariance 1e6), as from a wheel-odometry driver."""
    odo, out = scenario.odometry, []
    if odo is None:
        return out
    unknown = 1e6
    pose_cov = (np.eye(6) * unknown).reshape(36)
    twist_cov = np.diag([odo.speed_var_m2ps2, unknown, unknown, unknown, unknown,
                         odo.yaw_rate_var_rad2ps2]).reshape(36)  # fmt: skip
    for stamp, v, w in zip(odo.stamp_ns.tolist(), odo.speed_mps, odo.yaw_rate_radps):
        msg = types.Odometry(
            header=make_header(stamp, FRAMES['odom'], types),
            child_frame_id=FRAMES['base_link'],
            pose=types.PoseWithCovariance(
                pose=types.Pose(
                    position=types.Point(x=0.0, y=0.0, z=0.0),
                    orientation=types.Quaternion(x=0.0, y=0.0, z=0.0, w=1.0),
                ),
                covariance=pose_cov,
            ),  # fmt: skip
            twist=types.TwistWithCovariance(
                twist=types.Twist(
                    linear=types.Vector3(x=float(v), y=0.0, z=0.0),
                    angular=types.Vector3(x=0.0, y=0.0, z=float(w)),
                ),
                covariance=twist_cov,
            ),  # fmt: skip
        )
        out.append((stamp, TOPICS['odom'], msg))
    return out


def _write_bag(scenario: Scenario, path: Path, storage: str, progress: bool) -> dict[str, int]:
    counts = dict.fromkeys(TOPICS.values(), 0)
    with BagWriter(path, storage=storage) as bag:
        types = bag.types
        fix_lag_ns = int(round(scenario.config.fix_latency_s * 1e9))
        pending = [(f.stamp_ns + fix_lag_ns, TOPICS['gnss'],
                    gnss_to_navsatfix(f, FRAMES['gnss'], types))
                   for f in scenario.gnss.fixes]  # fmt: skip
        pending += _truth_messages(scenario, types)
        camera = as_camera_model(scenario.config.camera)
        tf = tf_static_msg(camera, scenario.config.start_ns, FRAMES['base_link'],
                           FRAMES['camera'], types)  # fmt: skip
        pending.append((scenario.config.start_ns, TOPICS['tf_static'], tf))
        pending += _odometry_messages(scenario, types)
        pending.sort(key=lambda m: m[0])
        frames = tqdm(scenario.frames(), total=len(scenario), desc='frames', disable=not progress)
        j, cam_lag_ns = 0, int(round(scenario.config.camera_lag_s * 1e9))
        for stamp, rgb in frames:
            arrival = stamp + cam_lag_ns  # record time = arrival; the header keeps the stamp
            while j < len(pending) and pending[j][0] <= arrival:
                bag.write(pending[j][1], pending[j][0], pending[j][2])
                counts[pending[j][1]] += 1
                j += 1
            bag.write(
                TOPICS['image'], arrival, rgb_to_image_msg(rgb, stamp, FRAMES['camera'], types)
            )
            counts[TOPICS['image']] += 1
            info = camera_info_msg(camera, stamp, FRAMES['camera'], types)
            bag.write(TOPICS['camera_info'], arrival, info)
            counts[TOPICS['camera_info']] += 1
        for stamp, topic, msg in pending[j:]:
            bag.write(topic, stamp, msg)
            counts[topic] += 1
    return counts


def _description(scenario: Scenario, seed: int, storage: str, counts, n_tiles: int) -> dict:
    cfg, world = scenario.config, scenario.world
    grid = world.grid
    return {
        'seed': seed,
        'duration_s': cfg.duration_s,
        'start_ns': cfg.start_ns,
        'datum': {
            'lat_deg': world.frame.lat0_deg,
            'lon_deg': world.frame.lon0_deg,
            'alt_m': world.frame.alt0_m,
        },  # fmt: skip
        'tile_zoom': cfg.tile_zoom,
        'tiles': TILES_FILE,
        'tile_count': n_tiles,
        'bag': BAG_DIR,
        'storage': storage,
        'topics': TOPICS,
        'frames': FRAMES,
        'message_counts': counts,
        'camera': as_camera_model(cfg.camera).to_dict(),
        'camera_rate_hz': cfg.camera_rate_hz,
        'gnss_rate_hz': cfg.gnss_rate_hz,
        'world': {
            'size_m': list(grid.size_m),
            'res_m': grid.res_m,
            'east_min_m': grid.east_min_m,
            'north_max_m': grid.north_max_m,
        },  # fmt: skip
        'gnss_error': error_stats(scenario.gnss.error_enu_m),
        'gnss_bias_error': error_stats(scenario.gnss.bias_enu_m),
        'fix_latency_s': cfg.fix_latency_s,
        'camera_lag_s': cfg.camera_lag_s,
        'odometry_rate_hz': None if cfg.odometry is None else cfg.odometry.rate_hz,
    }


def write_scenario(
    out_dir: str | Path,
    config: SimConfig,
    seed: int,
    storage: str = 'mcap',
    progress: bool = False,
) -> Path:
    """Simulate a drive with ``seed`` and write ``out_dir/{bag/, tiles.mbtiles, scenario.json}``.

    Returns:
        the path of ``scenario.json``.
    Raises:
        FileExistsError: ``out_dir`` already holds a bag.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    scenario = simulate_drive(config, np.random.default_rng(seed))
    counts = _write_bag(scenario, out / BAG_DIR, storage, progress)
    tiles_path = out / TILES_FILE
    tiles_path.unlink(missing_ok=True)
    with MBTilesWriter(tiles_path, name=f'cvseq-sim seed {seed}', fmt='png') as writer:
        n_tiles = write_tile_pyramid(scenario.world, writer, (config.tile_zoom,))
    path = out / SCENARIO_FILE
    text = json.dumps(_description(scenario, seed, storage, counts, n_tiles), indent=2)
    path.write_text(text + '\n')
    log.info('wrote %s (%s messages, %d tiles)', out, sum(counts.values()), n_tiles)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='cvseq-sim', description=__doc__.splitlines()[0])
    parser.add_argument('--out', required=True, type=Path, help='output directory')
    parser.add_argument('--seed', type=int, default=0, help='random seed (same seed, same data)')
    parser.add_argument('--duration', type=float, default=60.0, help='drive length, seconds')
    parser.add_argument('--storage', choices=['mcap', 'sqlite3'], default='mcap')
    parser.add_argument('--world-size', type=float, default=400.0, help='world edge, metres')
    parser.add_argument('--zoom', type=int, default=19, help='zoom of the satellite tiles')
    parser.add_argument('--quiet', action='store_true', help='no progress bar')
    parser.add_argument('--camera', choices=sorted(CAMERAS), default='default', help='preset')
    parser.add_argument(
        '--camera-json', type=Path, help='CameraModel.to_dict() JSON (overrides --camera)'
    )
    parser.add_argument('--gnss-profile', choices=sorted(GNSS_PROFILES), default='default',
                        help='GNSS error profile (see sim/gnss_model.py)')  # fmt: skip
    parser.add_argument('--fix-latency-ms', type=float, default=0.0,
                        help='fixes arrive this late (bag record time), ms')  # fmt: skip
    parser.add_argument('--camera-lag-ms', type=float, default=0.0,
                        help='camera frames arrive this late (bag record time), ms')  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')
    base = SimConfig()
    if args.camera_json is not None:
        try:
            camera = CameraModel.from_dict(json.loads(args.camera_json.read_text()))
        except (OSError, ValueError) as exc:
            parser.error(f'--camera-json {args.camera_json}: {exc}')
    else:
        camera = CAMERAS[args.camera]
    config = replace(
        base,
        camera=camera,
        duration_s=args.duration,
        tile_zoom=args.zoom,
        world=replace(base.world, size_m=args.world_size),
        gnss=gnss_profile(args.gnss_profile),
        fix_latency_s=args.fix_latency_ms * 1e-3,
        camera_lag_s=args.camera_lag_ms * 1e-3,
    )
    path = write_scenario(args.out, config, args.seed, args.storage, progress=not args.quiet)
    print(path)
    return 0


if __name__ == '__main__':
    sys.exit(main())
