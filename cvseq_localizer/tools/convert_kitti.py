"""``cvseq-convert kitti``: a KITTI raw synced drive -> rosbag2 (see ``convert_bag`` for topics).

Inputs: ``<date>/<date>_drive_<n>_sync/`` with ``image_02/{data/*.png, timestamps.txt}`` and
``oxts/{data/*.txt, timestamps.txt}``, and the date folder's ``calib_*.txt``.
``base_link`` = the OXTS IMU frame (x forward, y left, z up) moved down by the IMU height onto
the road. The OXTS RTK/INS solution (a few cm) is the reference, ``/ground_truth/*``; it is far
better than the GNSS the node is meant to improve, so ``/gnss/fix`` is that reference degraded
by the project's GNSS error model (``sim.gnss_model``; profile ``open``, ``default`` = Oxford
RobotCar statistics, or ``urban``) with a fixed seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cvseq_localizer.data.images import read_rgb
from cvseq_localizer.data.kitti import KittiDrive, read_drive
from cvseq_localizer.data.kitti_calib import KITTI_IMU_HEIGHT_M, kitti_camera
from cvseq_localizer.data.oxts import OXTS_FIELDS, read_timestamps_ns
from cvseq_localizer.sim.odometry import OdometryConfig, add_odometry_noise
from cvseq_localizer.tools.convert_bag import (
    Drive,
    ImageOutput,
    OdomSamples,
    Truth,
    select_frames,
    simulated_gnss,
    window,
    write_drive,
)


@dataclass(frozen=True)
class KittiOptions:
    """Conversion options (seconds after the first frame; Hz; metres)."""

    start_s: float | None = None
    end_s: float | None = None
    stride: int = 1
    gnss_rate_hz: float = 10.0
    gnss_seed: int = 0
    imu_height_m: float = KITTI_IMU_HEIGHT_M
    calib_dir: Path | None = None  # default: the drive's parent (date) folder
    odom: bool = False  # also write /odom from the OXTS body velocities and yaw rate
    gnss_profile: str = 'default'  # sim.gnss_model profile: open, default or urban
    odom_noise: bool = False  # /odom through sim.odometry's error model (implies odom)
    odom_seed: int = 0  # seed of that model


def _oxts_stamps(drive: KittiDrive) -> np.ndarray:
    """OXTS epochs: ``oxts/timestamps.txt`` when present, else the camera's."""
    path = drive.path / 'oxts' / 'timestamps.txt'
    if not path.is_file():
        return drive.timestamps_ns
    stamps = read_timestamps_ns(path)
    if len(stamps) != len(drive.oxts):
        raise ValueError(f'{path}: {len(stamps)} timestamps for {len(drive.oxts)} OXTS packets')
    return stamps


def kitti_truth(drive: KittiDrive, stamps_ns: np.ndarray) -> Truth:
    """The OXTS reference (position, yaw, horizontal speed, accuracy) at ``stamps_ns``."""
    p = drive.oxts
    return Truth(
        stamp_ns=np.asarray(stamps_ns, np.int64),
        lat_deg=np.array([o.lat_deg for o in p]),
        lon_deg=np.array([o.lon_deg for o in p]),
        alt_m=np.array([o.alt_m for o in p]),
        yaw_rad=np.array([o.yaw_rad for o in p]),
        speed_mps=np.array([np.hypot(o.vn_mps, o.ve_mps) for o in p]),
        sigma_m=np.array([o.pos_accuracy_m for o in p]),
    )


def kitti_odom(drive: KittiDrive, stamps_ns: np.ndarray) -> OdomSamples:
    """OXTS ``vf``, ``vl`` (m/s) and ``wu`` (rad/s, about up) as base_link odometry (the IMU
    frame's axes are base_link's)."""
    rows = []
    for frame in drive.frames:  # read_drive validated these files already
        text = (drive.path / 'oxts' / 'data' / f'{frame}.txt').read_text()
        values = dict(zip(OXTS_FIELDS, (float(v) for v in text.split())))
        rows.append((values['vf'], values['vl'], values['wu']))
    v = np.array(rows, np.float64).reshape(-1, 3)
    return OdomSamples(np.asarray(stamps_ns, np.int64), v[:, 0], v[:, 1], v[:, 2])


def noisy_odom(odom: OdomSamples, seed: int, cfg: OdometryConfig | None = None) -> OdomSamples:
    """``odom`` through the project's odometry error model (``sim.odometry``): the forward
    speed gets the drive's scale error, white noise and quantisation, the yaw rate the gyro bias
    (constant + random walk) and white noise; the reported variances are the white-noise ones.
    The model has no lateral term: ``v_left`` gets the same scale and white noise as the speed."""
    cfg = cfg or OdometryConfig()
    rng = np.random.default_rng(seed)
    e = add_odometry_noise(odom.stamp_ns, odom.v_forward_mps, odom.yaw_rate_rps, cfg, rng)
    v_left = e.speed_scale * np.asarray(odom.v_left_mps, np.float64)
    v_left = v_left + cfg.speed_noise_mps * rng.standard_normal(len(v_left))
    return OdomSamples(np.asarray(odom.stamp_ns, np.int64), e.speed_mps, v_left,
                       e.yaw_rate_radps, cfg.speed_noise_mps**2,
                       cfg.yaw_rate_noise_radps**2)  # fmt: skip


def read_kitti(drive_dir: str | Path, options: KittiOptions) -> tuple[Drive, np.ndarray]:
    """``(Drive, selected frame indices)`` of a KITTI raw drive folder.

    Raises:
        FileNotFoundError / ValueError: naming the missing or malformed file.
    """
    drive_dir = Path(drive_dir)
    if not drive_dir.is_dir():
        raise FileNotFoundError(f'KITTI drive folder not found: {drive_dir}')
    kd = read_drive(drive_dir)
    if kd.timestamps_ns is None:
        raise FileNotFoundError(f'KITTI camera timestamps not found: {drive_dir}/image_02/'
                                'timestamps.txt')  # fmt: skip
    camera = kitti_camera(options.calib_dir or drive_dir.parent, options.imu_height_m)
    first = read_rgb(kd.image_paths[0])
    if first.shape[:2] != (camera.height_px, camera.width_px):
        raise ValueError(
            f'{kd.image_paths[0]}: image is {first.shape[1]}x{first.shape[0]} px but '
            f'S_rect_02 in calib_cam_to_cam.txt says {camera.width_px}x{camera.height_px}'
        )
    frames = select_frames(kd.timestamps_ns, options.start_s, options.end_s, options.stride)
    lo, hi = int(kd.timestamps_ns[frames[0]]), int(kd.timestamps_ns[frames[-1]])
    oxts_ns = _oxts_stamps(kd)
    keep = window(oxts_ns, lo, hi)
    truth = kitti_truth(kd, oxts_ns).subset(keep)
    if truth.stamp_ns.size == 0:
        raise ValueError(f'{drive_dir}/oxts: no OXTS packet in the selected time range')
    gnss = simulated_gnss(truth, options.gnss_rate_hz, options.gnss_seed, options.gnss_profile)
    notes = {
        'base_link': 'OXTS IMU frame (x forward, y left, z up) on the ground below the IMU',
        'imu_height_m': options.imu_height_m,
        'gnss': f'OXTS reference + project GNSS error model ({options.gnss_profile} profile), '
        f'seed {options.gnss_seed}, {options.gnss_rate_hz} Hz',
        'ground_truth': 'OXTS RT3003 RTK/INS solution',
        'selection': {
            'start_s': options.start_s,
            'end_s': options.end_s,
            'stride': options.stride,
        },  # fmt: skip
    }
    odom = None
    if options.odom or options.odom_noise:
        odom = kitti_odom(kd, oxts_ns).subset(keep)
        notes['odom'] = 'OXTS vf, vl, wu (noise-free), dead-reckoned from the first sample'
        if options.odom_noise:
            odom = noisy_odom(odom, options.odom_seed)
            notes['odom'] = (
                f'OXTS vf, vl, wu + sim.odometry error model, seed {options.odom_seed}; '
                'dead-reckoned from the first sample'
            )
    drive = Drive(
        f'kitti:{drive_dir.name}', camera, kd.timestamps_ns,
        lambda k: _checked_rgb(kd.image_paths[k], camera), truth, gnss, notes, odom,
    )  # fmt: skip
    return drive, frames


def _checked_rgb(path: Path, camera) -> np.ndarray:
    rgb = read_rgb(path)
    if rgb.shape[:2] != (camera.height_px, camera.width_px):
        raise ValueError(
            f'{path}: image is {rgb.shape[1]}x{rgb.shape[0]} px, the first image and '
            f'S_rect_02 are {camera.width_px}x{camera.height_px}'
        )
    return rgb


def convert_kitti(
    drive_dir: str | Path,
    out: str | Path,
    options: KittiOptions | None = None,
    storage: str = 'mcap',
    progress: bool = True,
    images: ImageOutput | None = None,
) -> dict[str, int]:
    """Convert one KITTI raw drive to the bag ``out``; returns message counts per topic."""
    drive, frames = read_kitti(drive_dir, options or KittiOptions())
    return write_drive(drive, out, frames, storage, progress, images)
