"""``cvseq-convert robotcar``: an Oxford RobotCar run -> rosbag2 (topics: see ``convert_bag``).

The stereo centre camera (Bayer GBRG, demosaiced with OpenCV and undistorted through the SDK's
table) becomes ``/camera/image_raw`` (rgb8) with the SDK's pinhole model; ``gps/gps.csv`` (the
raw GPS receiver, with its reported sigmas: what seed 004 evaluates against) becomes
``/gnss/fix``; ``gps/ins.csv`` (NovAtel INS, NED) becomes ``/ground_truth/*`` in ENU.
``base_link`` = the INS frame turned to x forward, y left, z up and moved down onto the road.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cvseq_localizer.data.robotcar import (
    CENTRE_MODEL,
    GPS_COLUMNS,
    INS_COLUMNS,
    ROBOTCAR_INS_HEIGHT_M,
    VO_COLUMNS,
    ned_to_enu,
    ned_yaw_to_enu,
    read_bayer_rgb,
    read_csv_columns,
    read_distortion_lut,
    read_stereo_timestamps,
    robotcar_camera,
    undistort,
)
from cvseq_localizer.tools.convert_bag import (
    Drive,
    ImageOutput,
    OdomSamples,
    Truth,
    select_frames,
    sigma_fix,
    window,
    write_drive,
)
from cvseq_localizer.types import GnssFix

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RobotCarOptions:
    """Where the SDK's camera models and extrinsics are, and what to convert (seconds, m)."""

    models_dir: Path
    extrinsics_dir: Path
    start_s: float | None = None
    end_s: float | None = None
    stride: int = 1
    ins_height_m: float = ROBOTCAR_INS_HEIGHT_M
    odom: bool = False  # also write /odom from vo/vo.csv


def robotcar_truth(ins: dict[str, np.ndarray]) -> Truth:
    """The INS solution as the reference: ENU yaw and horizontal speed from the NED values."""
    order = np.argsort(ins['timestamp'], kind='stable')
    v_enu = ned_to_enu(ins['velocity_north'], ins['velocity_east'], ins['velocity_down'])
    return Truth(
        stamp_ns=ins['timestamp'][order] * 1000,
        lat_deg=ins['latitude'][order],
        lon_deg=ins['longitude'][order],
        alt_m=ins['altitude'][order],
        yaw_rad=ned_yaw_to_enu(ins['yaw'])[order],
        speed_mps=np.hypot(v_enu[:, 0], v_enu[:, 1])[order],
        sigma_m=np.full(len(order), np.nan),
    )


def robotcar_gnss(gps: dict[str, np.ndarray], keep: np.ndarray) -> list[GnssFix]:
    """Raw GPS fixes (ENU covariance from longitude/latitude/altitude sigmas, metres)."""
    out = []
    for k in np.nonzero(keep)[0]:
        out.append(
            sigma_fix(
                int(gps['timestamp'][k]) * 1000,
                gps['latitude'][k],
                gps['longitude'][k],
                gps['altitude'][k],
                gps['longitude_sigma'][k],
                gps['latitude_sigma'][k],
                gps['altitude_sigma'][k],
            )  # fmt: skip
        )
    out.sort(key=lambda f: f.stamp_ns)
    return out


def robotcar_odom(vo: dict[str, np.ndarray]) -> OdomSamples:
    """Visual odometry (relative poses of the stereo frame, x forward, y right, z down, from
    ``destination`` to ``source`` time) as velocities at the ``source`` stamps (FLU)."""
    order = np.argsort(vo['source_timestamp'], kind='stable')
    dt = (vo['source_timestamp'] - vo['destination_timestamp'])[order] * 1e-6
    dt = np.where(np.abs(dt) > 1e-6, dt, np.nan)  # a zero interval gives no velocity
    vel = np.stack([vo['x'][order], -vo['y'][order], -vo['yaw'][order]], axis=1) / dt[:, None]
    ok = np.all(np.isfinite(vel), axis=1)
    stamps = vo['source_timestamp'][order][ok] * 1000
    return OdomSamples(stamps, vel[ok, 0], vel[ok, 1], vel[ok, 2])


def _images(run: Path) -> tuple[np.ndarray, list[Path]]:
    stamps_us = read_stereo_timestamps(run)
    centre = run / 'stereo' / 'centre'
    paths = [centre / f'{ts}.png' for ts in stamps_us]
    present = np.array([p.is_file() for p in paths], bool)
    if not present.any():
        raise FileNotFoundError(f'no stereo centre image of stereo.timestamps found in {centre}')
    if not present.all():
        log.warning('%d of %d stereo centre images are missing (chunks not downloaded?)',
                    int((~present).sum()), len(paths))  # fmt: skip
    order = np.argsort(stamps_us[present], kind='stable')
    kept = [p for p, ok in zip(paths, present) if ok]
    return stamps_us[present][order] * 1000, [kept[i] for i in order]


def read_robotcar(run_dir: str | Path, options: RobotCarOptions) -> tuple[Drive, np.ndarray]:
    """``(Drive, selected frame indices)`` of a RobotCar run folder.

    Raises:
        FileNotFoundError / ValueError: naming the missing or malformed file.
    """
    run = Path(run_dir)
    if not run.is_dir():
        raise FileNotFoundError(f'RobotCar run folder not found: {run}')
    stamps_ns, paths = _images(run)
    h, w = read_bayer_rgb(paths[0]).shape[:2]
    camera = robotcar_camera(options.models_dir, options.extrinsics_dir, w, h,
                             options.ins_height_m)  # fmt: skip
    maps = read_distortion_lut(Path(options.models_dir) / f'{CENTRE_MODEL}_distortion_lut.bin',
                               w, h)  # fmt: skip
    frames = select_frames(stamps_ns, options.start_s, options.end_s, options.stride)
    lo, hi = int(stamps_ns[frames[0]]), int(stamps_ns[frames[-1]])
    ins = read_csv_columns(run / 'gps' / 'ins.csv', INS_COLUMNS)
    truth = robotcar_truth(ins)
    truth = truth.subset(window(truth.stamp_ns, lo, hi))
    if truth.stamp_ns.size == 0:
        raise ValueError(f'{run / "gps" / "ins.csv"}: no INS row in the selected time range')
    gps = read_csv_columns(run / 'gps' / 'gps.csv', GPS_COLUMNS)
    gnss = robotcar_gnss(gps, window(gps['timestamp'] * 1000, lo, hi))

    def load(k: int) -> np.ndarray:
        rgb = read_bayer_rgb(paths[k])
        if rgb.shape[:2] != (h, w):
            raise ValueError(f'{paths[k]}: {rgb.shape[1]}x{rgb.shape[0]} px, expected {w}x{h}')
        return undistort(rgb, maps)

    odom = None
    if options.odom:
        odom = robotcar_odom(read_csv_columns(run / 'vo' / 'vo.csv', VO_COLUMNS))
        keep = window(odom.stamp_ns, lo, hi)
        odom = odom.subset(keep)
    notes = {
        'base_link': 'INS frame (x forward, y left, z up) on the ground below the INS',
        'ins_height_m': options.ins_height_m,
        'gnss': 'raw GPS receiver (gps/gps.csv) with its reported sigmas',
        'ground_truth': 'NovAtel INS solution (gps/ins.csv), NED converted to ENU',
        'selection': {
            'start_s': options.start_s,
            'end_s': options.end_s,
            'stride': options.stride,
        },  # fmt: skip
    }
    if odom is not None:
        notes['odom'] = 'vo/vo.csv velocities at the camera (noise-free), dead-reckoned'
    drive = Drive(f'robotcar:{run.name}', camera, stamps_ns, load, truth, gnss, notes, odom)
    return drive, frames


def convert_robotcar(
    run_dir: str | Path,
    out: str | Path,
    options: RobotCarOptions,
    storage: str = 'mcap',
    progress: bool = True,
    images: ImageOutput | None = None,
) -> dict[str, int]:
    """Convert one RobotCar run to the bag ``out``; returns message counts per topic."""
    drive, frames = read_robotcar(run_dir, options)
    return write_drive(drive, out, frames, storage, progress, images)
