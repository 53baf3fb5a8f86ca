"""Oxford RobotCar run folders and the dataset SDK's camera models (layouts from the SDK,
``ori-mrg/robotcar-dataset-sdk``: ``python/camera_model.py``, ``image.py``,
``interpolate_poses.py``).

Run folder ``<yyyy-mm-dd-hh-mm-ss>/``::

    stereo.timestamps          "<unix us> <chunk>" per line
    stereo/centre/<us>.png     Bayer GBRG raw images (the centre camera = "stereo_narrow_left")
    gps/gps.csv                raw GPS with sigmas (header row, columns by name)
    gps/ins.csv                INS (NovAtel SPAN) solution; NED velocities and attitude
    vo/vo.csv                  visual odometry (relative poses), optional

SDK ``models/<name>.txt``: ``fx fy cx cy`` then the 4x4 ``G_camera_image`` (image/optical axes ->
the camera's x forward, y right, z down). ``models/<name>_distortion_lut.bin``: float64, shape
``(2, H*W)``: row 0 the distorted x (column), row 1 the distorted y (row) of every undistorted
pixel in raster order (the SDK samples it with ``map_coordinates``, i.e. pixel centres at
integers, which is ``cv2.remap``'s convention). ``fx fy cx cy`` describe the undistorted image.
SDK ``extrinsics/<sensor>.txt``: ``x y z roll pitch yaw`` of the sensor in the stereo camera's
frame (x forward, y right, z down; R = Rz(yaw) Ry(pitch) Rx(roll)).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import cv2
import numpy as np

from cvseq_localizer.geo.camera import CameraModel, CameraMount, rot_x, rot_y, rot_z

CENTRE_MODEL = 'stereo_narrow_left'  # the SDK's model name for stereo/centre
GPS_COLUMNS = ('timestamp', 'latitude', 'longitude', 'altitude', 'latitude_sigma',
               'longitude_sigma', 'altitude_sigma')  # fmt: skip
INS_COLUMNS = ('timestamp', 'latitude', 'longitude', 'altitude', 'velocity_north',
               'velocity_east', 'velocity_down', 'roll', 'pitch', 'yaw')  # fmt: skip
VO_COLUMNS = ('source_timestamp', 'destination_timestamp', 'x', 'y', 'z', 'roll', 'pitch', 'yaw')
# x forward, y right, z down (RobotCar vehicle/INS frames, NED attitude) <-> x fwd, y left, z up.
FRD_TO_FLU = np.diag([1.0, -1.0, -1.0])
# Height of the INS above the road: not published with the dataset (an estimate). With the SDK's
# extrinsics/ins.txt (camera 1.19 m above and 1.71 m ahead of the INS, INS pitched 0.04 rad) it
# puts the stereo camera 1.58 m above the road, just above the roof of the Nissan LEAF
# (1.55 m) it is mounted on. Measure it or override with --ins-height.
ROBOTCAR_INS_HEIGHT_M = 0.45


def ned_to_enu(north: np.ndarray, east: np.ndarray, down: np.ndarray) -> np.ndarray:
    """``(..., 3)`` ENU vectors from NED components."""
    return np.stack([np.asarray(east), np.asarray(north), -np.asarray(down)], axis=-1)


def ned_yaw_to_enu(yaw_ned_rad: np.ndarray) -> np.ndarray:
    """Heading clockwise from north (NED) -> yaw counter-clockwise from east (ENU), (-pi, pi]."""
    yaw = math.pi / 2 - np.asarray(yaw_ned_rad, np.float64)
    return np.arctan2(np.sin(yaw), np.cos(yaw))


def se3_from_xyzrpy(values: np.ndarray) -> np.ndarray:
    """4x4 transform of the SDK's ``build_se3_transform`` (R = Rz Ry Rx)."""
    x, y, z, roll, pitch, yaw = (float(v) for v in values)
    out = np.eye(4)
    out[:3, :3] = rot_z(yaw) @ rot_y(pitch) @ rot_x(roll)
    out[:3, 3] = (x, y, z)
    return out


def _numbers(path: Path, count: int | None = None) -> np.ndarray:
    try:
        text = path.read_text()
    except FileNotFoundError as err:
        raise FileNotFoundError(f'RobotCar file not found: {path}') from err
    try:
        values = np.array([float(v) for v in text.split()], np.float64)
    except ValueError as err:
        raise ValueError(f'{path}: not a list of numbers ({err})') from err
    if (count is not None and values.size != count) or not np.all(np.isfinite(values)):
        raise ValueError(f'{path}: expected {count} finite numbers, found {values.size}')
    return values


def read_intrinsics(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(fx fy cx cy (4,), G_camera_image (4, 4))`` from an SDK model ``.txt``."""
    values = _numbers(Path(path), 20)
    return values[:4], values[4:].reshape(4, 4)


def read_distortion_lut(path: str | Path, width: int, height: int) -> tuple:
    """``(map_x, map_y)`` float32 ``(H, W)`` for ``cv2.remap`` from a ``*_distortion_lut.bin``.

    Raises:
        FileNotFoundError: missing file. ValueError: its size does not match the image.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'RobotCar undistortion table not found: {path}')
    lut = np.fromfile(path, np.float64)
    if lut.size != 2 * width * height:
        raise ValueError(
            f'{path}: {lut.size} numbers, a {width}x{height} image needs {2 * width * height}'
        )
    lut = lut.reshape(2, height, width).astype(np.float32)
    return lut[0], lut[1]


def undistort(rgb: np.ndarray, maps: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Resample a demosaiced image through the SDK's table (bilinear, like the SDK)."""
    return cv2.remap(rgb, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def read_bayer_rgb(path: str | Path) -> np.ndarray:
    """A stereo Bayer GBRG PNG -> ``H x W x 3`` uint8 RGB (OpenCV's GBRG code, FACTS.md)."""
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.ndim != 2 or raw.dtype != np.uint8:
        got = 'unreadable' if raw is None else f'{raw.shape} {raw.dtype}'
        raise ValueError(f'{path}: expected a single-channel 8-bit Bayer PNG ({got})')
    return cv2.cvtColor(raw, cv2.COLOR_BayerGBRG2RGB)


def robotcar_camera(
    models_dir: str | Path,
    extrinsics_dir: str | Path,
    width: int,
    height: int,
    ins_height_m: float = ROBOTCAR_INS_HEIGHT_M,
    model: str = CENTRE_MODEL,
) -> CameraModel:
    """The undistorted stereo centre camera mounted in ``base_link``.

    ``base_link``: the INS frame (x forward, y left, z up) moved down by ``ins_height_m`` onto
    the ground; the ground truth (``ins.csv``) is the INS position.
    """
    (fx, fy, cx, cy), g_camera_image = read_intrinsics(Path(models_dir) / f'{model}.txt')
    ext = Path(extrinsics_dir)
    stereo = se3_from_xyzrpy(_numbers(ext / 'stereo.txt', 6))
    ins = se3_from_xyzrpy(_numbers(ext / 'ins.txt', 6))
    ins_optical = np.linalg.solve(ins, stereo @ g_camera_image)  # INS (FRD) <- optical
    r_body_optical = FRD_TO_FLU @ ins_optical[:3, :3]
    t_body = FRD_TO_FLU @ ins_optical[:3, 3] + [0.0, 0.0, ins_height_m]
    mount = CameraMount.from_matrix(r_body_optical, t_body)
    cam = CameraModel(int(width), int(height), fx, fy, cx, cy, 'none', (), mount)
    cam.validate()
    return cam


def read_csv_columns(path: str | Path, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    """``{column: float64 (N,)}`` of a header-row CSV (``timestamp`` columns as int64).

    Raises:
        FileNotFoundError: missing file. ValueError: a missing column or a non-numeric cell
            (file, line and column named).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'RobotCar file not found: {path}')
    with path.open(newline='') as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f'{path}: missing column(s) {", ".join(missing)}')
        rows = list(reader)
    out = {}
    for col in columns:
        dtype = np.int64 if col.endswith('timestamp') else np.float64
        try:
            out[col] = np.array([dtype(r[col]) for r in rows], dtype)
        except (TypeError, ValueError) as err:
            bad = next(i for i, r in enumerate(rows) if not _parses(r[col], dtype))
            raise ValueError(f'{path}:{bad + 2}: column {col!r} is not a number') from err
    return out


def _parses(value: str | None, dtype) -> bool:
    try:
        dtype(value)
    except (TypeError, ValueError):
        return False
    return True


def read_stereo_timestamps(run_dir: str | Path) -> np.ndarray:
    """``(N,)`` int64 UNIX microseconds of ``stereo.timestamps``."""
    path = Path(run_dir) / 'stereo.timestamps'
    if not path.is_file():
        raise FileNotFoundError(f'RobotCar file not found: {path}')
    out = []
    for i, line in enumerate(path.read_text().splitlines()):
        if line.strip():
            try:
                out.append(int(line.split()[0]))
            except ValueError as err:
                raise ValueError(f'{path}:{i + 1}: not a timestamp: {line!r}') from err
    return np.array(out, np.int64)
