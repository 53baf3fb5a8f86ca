"""Tiny on-disk KITTI raw (with calibration) and Oxford RobotCar runs in the exact real layouts.

KITTI calibration values are those of the 2011_09_26 date folder. RobotCar runs use the SDK's
``stereo_narrow_left`` intrinsics scaled to a small image, an SDK-layout undistortion table and
the SDK's ``ins.txt`` extrinsics unless told otherwise.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from fixtures import offsets_to_latlon, write_kitti_drive

KITTI_CAM_TO_CAM = """calib_time: 09-Jan-2012 13:57:47
corner_dist: 9.950000e-02
S_rect_00: 1.242000e+03 3.750000e+02
R_rect_00: 9.999239e-01 9.837760e-03 -7.445048e-03 -9.869795e-03 9.999421e-01 -4.278459e-03 \
7.402527e-03 4.351614e-03 9.999631e-01
P_rect_00: 7.215377e+02 0.000000e+00 6.095593e+02 0.000000e+00 0.000000e+00 7.215377e+02 \
1.728540e+02 0.000000e+00 0.000000e+00 0.000000e+00 1.000000e+00 0.000000e+00
S_rect_02: 1.242000e+03 3.750000e+02
P_rect_02: 7.215377e+02 0.000000e+00 6.095593e+02 4.485728e+01 0.000000e+00 7.215377e+02 \
1.728540e+02 2.163791e-01 0.000000e+00 0.000000e+00 1.000000e+00 2.745884e-03
"""
KITTI_VELO_TO_CAM = """calib_time: 15-Mar-2012 11:37:16
R: 7.533745e-03 -9.999714e-01 -6.166020e-04 1.480249e-02 7.280733e-04 -9.998902e-01 \
9.998621e-01 7.523790e-03 1.480755e-02
T: -4.069766e-03 -7.631618e-02 -2.717806e-01
delta_f: 0.000000e+00 0.000000e+00
delta_c: 0.000000e+00 0.000000e+00
"""
KITTI_IMU_TO_VELO = """calib_time: 25-May-2012 16:45:35
R: 9.999976e-01 7.553071e-04 -2.035826e-03 -7.854027e-04 9.998898e-01 -1.482298e-02 \
2.024406e-03 1.482454e-02 9.998881e-01
T: -8.086759e-01 3.195559e-01 -7.997231e-01
"""
KITTI_IMAGE_HW = (375, 1242)


def write_kitti_raw(root: Path, xy_enu_m: np.ndarray, oxts_offset_ns: int = 3_000_000) -> Path:
    """A synced drive (``write_kitti_drive``, real image size) plus ``oxts/timestamps.txt``
    (camera time + ``oxts_offset_ns``) and the date folder's three calibration files."""
    drive = write_kitti_drive(root, xy_enu_m, image_hw=KITTI_IMAGE_HW)
    date_dir = drive.parent
    (date_dir / 'calib_cam_to_cam.txt').write_text(KITTI_CAM_TO_CAM.replace('\\\n', ''))
    (date_dir / 'calib_velo_to_cam.txt').write_text(KITTI_VELO_TO_CAM.replace('\\\n', ''))
    (date_dir / 'calib_imu_to_velo.txt').write_text(KITTI_IMU_TO_VELO.replace('\\\n', ''))
    cam_lines = (drive / 'image_02' / 'timestamps.txt').read_text().split()
    pairs = zip(cam_lines[::2], cam_lines[1::2])
    stamps = np.array([np.datetime64(f'{d}T{t}', 'ns') for d, t in pairs])
    oxts = stamps + np.timedelta64(oxts_offset_ns, 'ns')
    text = [str(s).replace('T', ' ') for s in oxts]
    (drive / 'oxts' / 'timestamps.txt').write_text('\n'.join(text) + '\n')
    return drive


def texture(rng: np.random.Generator, hw: tuple[int, int], blur_px: float = 3.0) -> np.ndarray:
    """``H x W x 3`` uint8 smoothed noise (something for an image matcher to correlate)."""
    noise = cv2.GaussianBlur(rng.random((*hw, 3)).astype(np.float32), (0, 0), blur_px)
    noise = (noise - noise.min()) / max(float(noise.max() - noise.min()), 1e-9)
    return (noise * 255).astype(np.uint8)


def texture_kitti_frames(drive: Path, seed: int = 0) -> None:
    """Replace a fixture drive's constant camera frames by textured ones (same size)."""
    rng = np.random.default_rng(seed)
    for path in sorted((drive / 'image_02' / 'data').glob('*.png')):
        rgb = texture(rng, KITTI_IMAGE_HW)
        assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)), path


def write_route_mbtiles(route_csv: Path, out: Path, zoom: int, buffer_m: float) -> int:
    """Textured XYZ tiles at ``zoom`` within ``buffer_m`` of a ``route.csv`` (what
    ``cvseq-tiles prefill --route`` would fetch) into the MBTiles ``out``; returns the count."""
    from cvseq_localizer.tiles.base import encode_tile
    from cvseq_localizer.tiles.mbtiles import MBTilesWriter
    from cvseq_localizer.tiles.prefill import read_route, route_tiles

    tiles = route_tiles(read_route(route_csv), buffer_m, zoom)
    with MBTilesWriter(out, name='fixture route') as writer:
        for z, x, y in tiles:  # each tile's texture depends on its index only
            writer.put(z, x, y, encode_tile(texture(np.random.default_rng([z, x, y]), (256, 256))))
    return len(tiles)


def kitti_matrices() -> dict[str, np.ndarray]:
    """The fixture calibration as matrices (for independent expectations)."""

    def nums(text: str, key: str) -> np.ndarray:
        for line in text.replace('\\\n', '').splitlines():
            if line.startswith(f'{key}:'):
                return np.array([float(v) for v in line.split(':')[1].split()])
        raise KeyError(key)

    def rigid(text: str) -> np.ndarray:
        out = np.eye(4)
        out[:3, :3] = nums(text, 'R').reshape(3, 3)
        out[:3, 3] = nums(text, 'T')
        return out

    r_rect = np.eye(4)
    r_rect[:3, :3] = nums(KITTI_CAM_TO_CAM, 'R_rect_00').reshape(3, 3)
    return {
        'P_rect_02': nums(KITTI_CAM_TO_CAM, 'P_rect_02').reshape(3, 4),
        'R_rect_00': r_rect,
        'T_velo_cam': rigid(KITTI_VELO_TO_CAM),
        'T_imu_velo': rigid(KITTI_IMU_TO_VELO),
    }


# --------------------------------------------------------------------------------- RobotCar
ROBOTCAR_RUN = '2014-05-06-12-54-54'
ROBOTCAR_LLA = (51.7605, -1.2613, 110.0)  # Oxford
ROBOTCAR_HW = (48, 64)  # the real 960 x 1280 scaled by 1/20
SDK_INTRINSICS = (964.828979, 964.828979, 643.788025, 484.407990)
G_CAMERA_IMAGE = '0 0 1 0\n1 0 0 0\n0 1 0 0\n0 0 0 1\n'
SDK_INS_EXTRINSICS = '-1.7132 0.1181 1.1948 -0.0125 0.0400 0.0050'
GPS_HEADER = ('timestamp,num_satellites,latitude,longitude,altitude,latitude_sigma,'
              'longitude_sigma,altitude_sigma,northing,easting,down,utm_zone')  # fmt: skip
INS_HEADER = ('timestamp,ins_status,latitude,longitude,altitude,northing,easting,down,utm_zone,'
              'velocity_north,velocity_east,velocity_down,roll,pitch,yaw')  # fmt: skip


def mosaic_gbrg(rgb: np.ndarray) -> np.ndarray:
    """RGB -> a single-channel GBRG Bayer image (row 0: G B, row 1: R G)."""
    raw = rgb[..., 1].copy()
    raw[0::2, 1::2] = rgb[0::2, 1::2, 2]
    raw[1::2, 0::2] = rgb[1::2, 0::2, 0]
    return raw


def write_sdk(root: Path, ins_extrinsics: str = SDK_INS_EXTRINSICS, lut_shift_px: float = 0.0):
    """``root/{models, extrinsics}`` as in the SDK, for a ``ROBOTCAR_HW`` image; the table
    maps undistorted pixel ``(x, y)`` to distorted ``(x + lut_shift_px, y)``."""
    h, w = ROBOTCAR_HW
    fx, fy, cx, cy = (v / 20 for v in SDK_INTRINSICS)
    models, extrinsics = root / 'models', root / 'extrinsics'
    models.mkdir(parents=True)
    extrinsics.mkdir(parents=True)
    (models / 'stereo_narrow_left.txt').write_text(f'{fx} {fy} {cx} {cy}\n{G_CAMERA_IMAGE}')
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    np.stack([xs.ravel() + lut_shift_px, ys.ravel()]).tofile(
        models / 'stereo_narrow_left_distortion_lut.bin'
    )
    (extrinsics / 'stereo.txt').write_text('0 0 0 0 0 0\n')
    (extrinsics / 'ins.txt').write_text(ins_extrinsics + '\n')
    return models, extrinsics


def robotcar_image(k: int) -> np.ndarray:
    """Frame ``k``: left half pure red, right half pure blue, green = 10 k."""
    h, w = ROBOTCAR_HW
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:, : w // 2, 0] = 200
    rgb[:, w // 2 :, 2] = 200
    rgb[..., 1] = 10 * k
    return rgb


def write_robotcar_run(
    root: Path, n_frames: int = 5, t0_us: int = 1_399_381_000_000_000, yaw_ned: float = 0.3
) -> Path:
    """A run with ``n_frames`` stereo centre images at 16 Hz, gps.csv at 5 Hz and ins.csv at
    50 Hz along a straight line heading ``yaw_ned`` (clockwise from north) at 5 m/s."""
    run = root / ROBOTCAR_RUN
    centre = run / 'stereo' / 'centre'
    centre.mkdir(parents=True)
    stamps = [t0_us + k * 62_500 for k in range(n_frames)]
    for k, ts in enumerate(stamps):
        assert cv2.imwrite(str(centre / f'{ts}.png'), mosaic_gbrg(robotcar_image(k)))
    (run / 'stereo.timestamps').write_text(''.join(f'{ts} 1\n' for ts in stamps))
    (run / 'gps').mkdir()
    duration_us = stamps[-1] - t0_us + 1_000_000
    gps_t = np.arange(t0_us - 500_000, t0_us + duration_us, 200_000)
    ins_t = np.arange(t0_us - 500_000, t0_us + duration_us, 20_000)
    rows = []
    for t, (lat, lon) in zip(gps_t, _line(gps_t - t0_us, yaw_ned)):
        rows.append(f'{t},9,{lat:.10f},{lon:.10f},{ROBOTCAR_LLA[2]:.3f},1.5,2.0,3.0,0,0,0,30U')
    (run / 'gps' / 'gps.csv').write_text('\n'.join([GPS_HEADER, *rows]) + '\n')
    vn, ve = 5 * np.cos(yaw_ned), 5 * np.sin(yaw_ned)
    rows = []
    for t, (lat, lon) in zip(ins_t, _line(ins_t - t0_us, yaw_ned)):
        rows.append(f'{t},INS_SOLUTION_GOOD,{lat:.10f},{lon:.10f},{ROBOTCAR_LLA[2]:.3f},'
                    f'0,0,0,30U,{vn:.6f},{ve:.6f},0.5,0.01,-0.02,{yaw_ned:.6f}')  # fmt: skip
    (run / 'gps' / 'ins.csv').write_text('\n'.join([INS_HEADER, *rows]) + '\n')
    return run


def write_vo(run: Path, n: int, t0_us: int, step=(0.3125, -0.01, -0.00625)) -> Path:
    """``vo/vo.csv``: ``n`` relative poses 62.5 ms apart, each ``(x, y, yaw)`` = ``step``
    (stereo frame: x forward, y right, z down)."""
    header = 'source_timestamp,destination_timestamp,x,y,z,roll,pitch,yaw'
    rows = [f'{t0_us + k * 62_500},{t0_us + (k - 1) * 62_500},{step[0]},{step[1]},0,0,0,{step[2]}'
            for k in range(1, n)]  # fmt: skip
    path = run / 'vo' / 'vo.csv'
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('\n'.join([header, *rows]) + '\n')
    return path


def _line(dt_us: np.ndarray, yaw_ned: float) -> np.ndarray:
    s = 5.0 * dt_us * 1e-6
    en = np.stack([s * np.sin(yaw_ned), s * np.cos(yaw_ned)], axis=-1)
    return offsets_to_latlon(*ROBOTCAR_LLA[:2], en)


__all__ = [
    'ROBOTCAR_HW', 'ROBOTCAR_LLA', 'SDK_INTRINSICS', 'kitti_matrices', 'mosaic_gbrg',
    'robotcar_image', 'texture', 'texture_kitti_frames', 'write_kitti_raw', 'write_robotcar_run',
    'write_route_mbtiles', 'write_sdk', 'write_vo',
]  # fmt: skip
