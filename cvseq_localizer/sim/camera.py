"""``PinholeCamera``: a forward-looking vehicle camera and its exact projection.

Frames: ENU world (metres, z up at the datum's height surface); vehicle body REP-103 (x forward,
y left, z up; yaw 0 = east, counter-clockwise); camera optical frame (x right, y down, z forward).
The camera sits ``height_m`` above the ground at the body origin and is pitched down by
``pitch_rad`` (positive = looking down). Pixels are corner-based: the centre of pixel
``[row, col]`` is ``(u, v) = (col + 0.5, row + 0.5)`` and the principal point is the image centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
