"""`cvseq-convert`: KITTI raw drives and Oxford RobotCar runs -> rosbag2 for the localizer.

Examples::

    cvseq-convert kitti 2011_09_26/2011_09_26_drive_0005_sync --out kitti_0005
    cvseq-convert kitti DRIVE --out kitti_urban --gnss-profile urban --odom-noise
    cvseq-convert robotcar 2014-05-06-12-54-54 --sdk robotcar-dataset-sdk --out rc_run

Topics and frames: see ``cvseq_localizer.tools.convert_bag``; mcap by default.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from cvseq_localizer.data.kitti_calib import KITTI_IMU_HEIGHT_M
from cvseq_localizer.data.robotcar import ROBOTCAR_INS_HEIGHT_M
from cvseq_localizer.sim.gnss_model import GNSS_PROFILES


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument('--out', required=True, type=Path, help='bag directory to create')
    p.add_argument('--storage', choices=['mcap', 'sqlite3'], default='mcap')
    p.add_argument('--start', type=float, default=None, help='seconds after the first frame')
    p.add_argument('--end', type=float, default=None, help='seconds after the first frame')
    p.add_argument('--stride', type=int, default=1, help='keep every N-th camera frame')
    p.add_argument(
        '--compress',
        choices=['none', 'jpeg', 'png'],
        default='none',
        help='store images as CompressedImage on /camera/image_raw/compressed',
    )
    p.add_argument('--jpeg-quality', type=int, default=90, help='with --compress jpeg')
    p.add_argument(
        '--odom',
        action='store_true',
        help='also write /odom (KITTI: OXTS velocities; RobotCar: vo/vo.csv), noise-free',
    )
    p.add_argument('--quiet', action='store_true', help='no progress bar')


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='cvseq-convert', description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='dataset', required=True)
    k = sub.add_parser('kitti', help='a KITTI raw *_sync drive folder')
    k.add_argument('drive', type=Path, help='e.g. 2011_09_26/2011_09_26_drive_0005_sync')
    _common(k)
    k.add_argument(
        '--calib-dir',
        type=Path,
        default=None,
        help='folder with calib_*.txt (default: the date folder above the drive)',
    )
    k.add_argument(
        '--imu-height',
        type=float,
        default=KITTI_IMU_HEIGHT_M,
        help='OXTS IMU height above the road, m (KITTI setup figure)',
    )
    k.add_argument('--gnss-rate', type=float, default=10.0, help='simulated /gnss/fix rate, Hz')
    k.add_argument('--gnss-seed', type=int, default=0, help='seed of the GNSS error model')
    k.add_argument(
        '--gnss-profile', choices=list(GNSS_PROFILES), default='default',
        help='GNSS error model degrading the OXTS reference into /gnss/fix (sim/gnss_model.py): '
        'open (sky, ~2 m mean), default (Oxford RobotCar raw GPS, ~4.6 m), urban (~7.7 m, '
        'multipath and dropouts up to 20 s)',
    )  # fmt: skip
    k.add_argument(
        '--odom-noise', action='store_true',
        help='write /odom (implies --odom) through the odometry error model (sim/odometry.py): '
        'speed scale error and noise, gyro bias and noise; default: noise-free OXTS',
    )  # fmt: skip
    k.add_argument('--odom-seed', type=int, default=0, help='seed of the odometry error model')
    r = sub.add_parser('robotcar', help='an Oxford RobotCar run folder')
    r.add_argument('run', type=Path, help='e.g. 2014-05-06-12-54-54 (with stereo/, gps/)')
    _common(r)
    r.add_argument('--sdk', type=Path, default=None,
                   help='robotcar-dataset-sdk checkout (its models/ and extrinsics/)')  # fmt: skip
    r.add_argument('--models-dir', type=Path, default=None, help='default: SDK/models')
    r.add_argument('--extrinsics-dir', type=Path, default=None, help='default: SDK/extrinsics')
    r.add_argument('--ins-height', type=float, default=ROBOTCAR_INS_HEIGHT_M,
                   help='INS height above the road, m (estimate, see README)')  # fmt: skip
    return parser


def run(args: argparse.Namespace) -> dict[str, int]:
    """Convert as the parsed ``args`` say; returns message counts per topic."""
    from cvseq_localizer.tools.convert_msgs import ImageOutput

    progress = not args.quiet
    images = ImageOutput(args.compress, args.jpeg_quality)
    if args.dataset == 'kitti':
        from cvseq_localizer.tools.convert_kitti import KittiOptions, convert_kitti

        opts = KittiOptions(
            args.start, args.end, args.stride, args.gnss_rate, args.gnss_seed, args.imu_height,
            args.calib_dir, args.odom, gnss_profile=args.gnss_profile,
            odom_noise=args.odom_noise, odom_seed=args.odom_seed,
        )  # fmt: skip
        return convert_kitti(args.drive, args.out, opts, args.storage, progress, images)
    from cvseq_localizer.tools.convert_robotcar import RobotCarOptions, convert_robotcar

    models = args.models_dir or (args.sdk / 'models' if args.sdk else None)
    extrinsics = args.extrinsics_dir or (args.sdk / 'extrinsics' if args.sdk else None)
    if models is None or extrinsics is None:
        raise ValueError('give --sdk (or both --models-dir and --extrinsics-dir)')
    opts = RobotCarOptions(models, extrinsics, args.start, args.end, args.stride, args.ins_height,
                           args.odom)  # fmt: skip
    return convert_robotcar(args.run, args.out, opts, args.storage, progress, images)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')
    try:
        counts = run(args)
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        print(f'cvseq-convert: error: {exc}', file=sys.stderr)
        return 2
    summary = ', '.join(f'{topic} {n}' for topic, n in counts.items() if n)
    print(f'{args.out}: {summary}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
