"""KITTI raw calibration files -> the rectified left colour camera (``image_02``) as a CameraModel.

Files in the date folder (KITTI raw devkit ``readme.txt``), one ``key: numbers`` per line::

    calib_cam_to_cam.txt   S_rect_02 (w h), R_rect_00 (3x3), P_rect_02 (3x4), ...
    calib_velo_to_cam.txt  R, T: p_cam0 = R p_velo + T
    calib_imu_to_velo.txt  R, T: p_velo = R p_imu + T

A point in the IMU/OXTS frame projects as ``P_rect_02 R_rect_00 T_velo_cam T_imu_velo p_imu``.
``base_link`` here is the OXTS IMU frame (x forward, y left, z up) moved straight down onto the
ground: the IMU sits ``KITTI_IMU_HEIGHT_M`` above the road. The ``*_sync`` images are already
rectified, so the camera is an ideal pinhole (distortion ``none``) with P_rect_02's intrinsics
taken as OpenCV pixel centres.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cvseq_localizer.geo.camera import CameraModel, CameraMount

# Height of the OXTS RT3003 above the ground: Geiger et al., "Vision meets Robotics: The KITTI
# Dataset", IJRR 2013, Fig. 3 (sensor setup). With the 2011 calibration chain this puts camera 2
# at 1.65 m, the camera height in the same figure.
KITTI_IMU_HEIGHT_M = 0.93
CALIB_FILES = ('calib_cam_to_cam.txt', 'calib_velo_to_cam.txt', 'calib_imu_to_velo.txt')


def read_calib_file(path: str | Path) -> dict[str, np.ndarray]:
    """``{key: float64 array}`` of a KITTI calibration file (non-numeric lines are skipped).

    Raises:
        FileNotFoundError: missing file (named).
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError as err:
        raise FileNotFoundError(f'KITTI calibration file not found: {path}') from err
    out = {}
    for line in text.splitlines():
        key, sep, values = line.partition(':')
        if not sep:
            continue
        try:
            out[key.strip()] = np.array([float(v) for v in values.split()], np.float64)
        except ValueError:
            continue  # calib_time and other text fields
    return out


def _entry(calib: dict[str, np.ndarray], key: str, size: int, path: Path) -> np.ndarray:
    value = calib.get(key)
    if value is None or value.size != size or not np.all(np.isfinite(value)):
        found = 'missing' if value is None else f'{value.size} numbers'
        raise ValueError(f'{path}: {key} must hold {size} finite numbers ({found})')
    return value


def _rigid(path: Path) -> np.ndarray:
    """4x4 transform from a file with ``R`` (9) and ``T`` (3)."""
    calib = read_calib_file(path)
    out = np.eye(4)
    out[:3, :3] = _entry(calib, 'R', 9, path).reshape(3, 3)
    out[:3, 3] = _entry(calib, 'T', 3, path)
    return out


def imu_to_camera(date_dir: str | Path, cam: int = 2) -> tuple[np.ndarray, np.ndarray, tuple]:
    """``(T (4x4) IMU -> rectified camera ``cam`` optical frame, K (3x3), (width, height))``.

    Raises:
        FileNotFoundError / ValueError: a missing calibration file or a malformed entry (named).
    """
    date_dir = Path(date_dir)
    c2c_path = date_dir / CALIB_FILES[0]
    c2c = read_calib_file(c2c_path)
    p_rect = _entry(c2c, f'P_rect_{cam:02d}', 12, c2c_path).reshape(3, 4)
    r_rect = np.eye(4)
    r_rect[:3, :3] = _entry(c2c, 'R_rect_00', 9, c2c_path).reshape(3, 3)
    w, h = _entry(c2c, f'S_rect_{cam:02d}', 2, c2c_path)
    k = p_rect[:, :3]
    shift = np.eye(4)  # P = K [I | t]: the rectified camera's offset from camera 0
    shift[:3, 3] = np.linalg.solve(k, p_rect[:, 3])
    t_velo_cam = _rigid(date_dir / CALIB_FILES[1])
    t_imu_velo = _rigid(date_dir / CALIB_FILES[2])
    return shift @ r_rect @ t_velo_cam @ t_imu_velo, k, (int(w), int(h))


def kitti_camera(
    date_dir: str | Path, imu_height_m: float = KITTI_IMU_HEIGHT_M, cam: int = 2
) -> CameraModel:
    """The rectified camera ``cam`` of a KITTI raw date folder, mounted in ``base_link``.

    ``base_link`` = the IMU frame moved down by ``imu_height_m`` (its origin on the ground).
    """
    t_imu_cam, k, (w, h) = imu_to_camera(date_dir, cam)
    r_body_optical = t_imu_cam[:3, :3].T
    centre_imu = -r_body_optical @ t_imu_cam[:3, 3]
    mount = CameraMount.from_matrix(r_body_optical, centre_imu + [0.0, 0.0, imu_height_m])
    model = CameraModel(w, h, k[0, 0], k[1, 1], k[0, 2], k[1, 2], 'none', (), mount)
    model.validate()
    return model
