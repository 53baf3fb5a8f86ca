"""``PinholeCamera``: a forward-looking vehicle camera and its exact projection.

Frames: ENU world (metres, z up at the datum's height surface); vehicle body REP-103 (x forward,
y left, z up; yaw 0 = east, counter-clockwise); camera optical frame (x right, y down, z forward).
The camera sits ``height_m`` above the ground at the body origin and is pitched down by
``pitch_rad`` (positive = looking down). Pixels are corner-based: the centre of pixel
``[row, col]`` is ``(u, v) = (col + 0.5, row + 0.5)`` and the principal point is the image centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np

from cvseq_localizer.geo.camera import CameraModel, CameraMount

# Camera optical axes expressed in the body frame at zero pitch (columns: x right, y down, z fwd).
R_BODY_OPTICAL = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


def rot_z(angle_rad: float) -> np.ndarray:
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rot_y(angle_rad: float) -> np.ndarray:
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


@dataclass(frozen=True)
class PinholeCamera:
    """An ideal pinhole camera (no distortion, square pixels)."""

    width_px: int = 320  # image width
    height_px: int = 96  # image height
    hfov_deg: float = 90.0  # horizontal field of view
    height_m: float = 1.65  # optical centre above the ground
    pitch_rad: float = 0.03  # downward tilt of the optical axis

    @property
    def fx(self) -> float:
        """Focal length in pixels (``fy`` is the same)."""
        return self.width_px / 2.0 / math.tan(math.radians(self.hfov_deg) / 2.0)

    @property
    def fy(self) -> float:
        return self.fx

    @property
    def cx(self) -> float:
        return self.width_px / 2.0

    @property
    def cy(self) -> float:
        return self.height_px / 2.0

    @property
    def K(self) -> np.ndarray:  # noqa: N802 (the conventional name)
        """3x3 intrinsics for corner-based pixel coordinates."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    def r_body_optical(self) -> np.ndarray:
        """Rotation taking optical-frame vectors into the body frame (includes the pitch)."""
        return rot_y(self.pitch_rad) @ R_BODY_OPTICAL

    def enu_to_optical(self, points_enu_m: np.ndarray, xy_enu_m, yaw_rad: float) -> np.ndarray:
        """``(N, 3)`` ENU points -> ``(N, 3)`` optical-frame points for a vehicle pose."""
        p = np.asarray(points_enu_m, np.float64).reshape(-1, 3)
        centre = np.array([xy_enu_m[0], xy_enu_m[1], self.height_m])
        r_enu_optical = rot_z(yaw_rad) @ self.r_body_optical()
        return (p - centre) @ r_enu_optical

    def project(
        self, points_enu_m: np.ndarray, xy_enu_m, yaw_rad: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """ENU points -> ``(uv (N, 2) corner-based pixels, depth (N,) metres along the axis)``.

        Points behind the camera get ``depth <= 0`` and NaN pixels.
        """
        q = self.enu_to_optical(points_enu_m, xy_enu_m, yaw_rad)
        z = q[:, 2]
        with np.errstate(divide='ignore', invalid='ignore'):
            u = np.where(z > 0, self.fx * q[:, 0] / z + self.cx, np.nan)
            v = np.where(z > 0, self.fy * q[:, 1] / z + self.cy, np.nan)
        return np.stack([u, v], axis=1), z

    def to_model(self) -> CameraModel:
        """The same camera as a core :class:`CameraModel` (OpenCV pixel centres: c - 0.5)."""
        mount = CameraMount(z_m=self.height_m, pitch_rad=self.pitch_rad)
        return CameraModel.from_hfov(self.width_px, self.height_px, self.hfov_deg, mount)

    def intrinsics_dict(self) -> dict:
        """Plain-number description (for ``scenario.json`` / ``CameraInfo``)."""
        return {
            'width_px': self.width_px,
            'height_px': self.height_px,
            'fx_px': self.fx,
            'fy_px': self.fy,
            'cx_px': self.cx,
            'cy_px': self.cy,
            'hfov_deg': self.hfov_deg,
            'height_m': self.height_m,
            'pitch_rad': self.pitch_rad,
            'pixel_convention': 'corner-based: pixel [r, c] centre at (c + 0.5, r + 0.5)',
        }


def as_camera_model(camera: CameraModel | PinholeCamera) -> CameraModel:
    """The core camera for either camera type (a ``PinholeCamera`` via ``to_model()``)."""
    if isinstance(camera, PinholeCamera):
        return camera.to_model()
    if not isinstance(camera, CameraModel):
        raise TypeError(f'expected a CameraModel or PinholeCamera, got {type(camera).__name__}')
    return camera


def _presets() -> dict[str, CameraModel]:
    wide = CameraModel.from_hfov(640, 480, 120.0, CameraMount(z_m=1.4, pitch_rad=math.radians(5)))
    tele_mount = CameraMount(x_m=0.8, z_m=2.0, pitch_rad=math.radians(6))
    tele = replace(
        CameraModel.from_hfov(512, 256, 60.0, tele_mount),
        distortion_model='plumb_bob',
        distortion=(-0.12, 0.04, 0.0005, -0.0003, 0.0),  # mild barrel, a little decentring
    )
    return {'default': PinholeCamera().to_model(), 'wide': wide, 'tele': tele}


# Named cameras for the simulator (``cvseq-sim --camera NAME``): 'default' is the historical
# 96 x 320 px, 90 deg camera 1.65 m high; 'wide' a 120 deg 640 x 480 px camera 1.4 m high pitched
# 5 deg down; 'tele' a 60 deg 256 x 512 px (H x W) camera 2.0 m high, 0.8 m forward of base_link,
# pitched 6 deg down, with mild plumb_bob distortion.
CAMERAS: dict[str, CameraModel] = _presets()


def camera_info_dict(camera: CameraModel) -> dict[str, Any]:
    """The fields of ``sensor_msgs/CameraInfo`` for ``camera`` as plain numbers.

    ``K`` (9), ``R`` (9, identity: monocular) and ``P`` (12, ``[K | 0]``: the simulator's images
    are not rectified, the distortion is in ``D``), row-major; ``d`` as OpenCV's plumb_bob
    ``(k1, k2, p1, p2, k3)`` or empty for an ideal pinhole (``distortion_model`` 'plumb_bob' then,
    with zeros, as ROS drivers publish it).
    """
    k = camera.K
    p = np.concatenate([k, np.zeros((3, 1))], axis=1)
    return {
        'height': int(camera.height_px),
        'width': int(camera.width_px),
        'distortion_model': 'plumb_bob',
        'd': [float(x) for x in camera.D],
        'k': [float(x) for x in k.ravel()],
        'r': [float(x) for x in np.eye(3).ravel()],
        'p': [float(x) for x in p.ravel()],
    }


def mount_transform(camera: CameraModel) -> tuple[np.ndarray, np.ndarray]:
    """``base_link -> camera_optical`` as ``(translation (3,) m, quaternion (4,) x y z w)``.

    The rotation takes optical-frame vectors into ``base_link`` (tf2's parent <- child convention);
    the quaternion comes from OpenCV's Rodrigues vector.
    """
    rvec, _ = cv2.Rodrigues(camera.mount.r_body_optical())
    rvec = rvec.ravel()
    angle = float(np.linalg.norm(rvec))
    axis = rvec / angle if angle > 1e-12 else np.array([1.0, 0.0, 0.0])
    quat = np.array([*(axis * math.sin(angle / 2)), math.cos(angle / 2)])
    return camera.mount.t_body_m.copy(), quat
