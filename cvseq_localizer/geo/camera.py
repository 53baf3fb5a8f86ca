"""``CameraModel``: intrinsics, lens distortion, image size and the mount on the vehicle.

One camera type for the whole core: the simulator renders with it, datasets describe their cameras
with it, checkpoints record the one they were trained with, and the engines project images onto the
ground plane with it (``ground_to_pixel``). It is the core's view of ``sensor_msgs/CameraInfo``
plus the ``base_link -> camera`` transform.

Frames and conventions:
- ``base_link`` (REP-103): x forward, y left, z up; its origin lies on the ground plane (z = 0).
- The camera optical frame (REP-103 ``*_optical``): x right, y down, z forward.
- Pixels follow OpenCV and ``CameraInfo``: the centre of pixel ``[row, col]`` is ``(u, v) =
  (col, row)``; ``cx, cy`` are in that convention. (``GeoImage`` rasters are corner-based; the
  two never mix: an engine samples camera images with ``cv2.remap``, which uses this convention.)
- Mount angles are applied as ``R = Rz(yaw) Ry(pitch) Rx(roll)`` to the optical axes
  ``R_BODY_OPTICAL``; positive pitch tilts the optical axis down (towards the ground), positive
  yaw turns it left.
- Distortion ``plumb_bob`` is OpenCV's ``(k1, k2, p1, p2, k3)``; ``none`` means an ideal pinhole.
  OpenCV does the (un)distortion: it is the reference implementation CameraInfo users share.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import cv2
import numpy as np

# Optical axes (x right, y down, z forward) expressed in base_link at zero mount angles.
R_BODY_OPTICAL = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
DISTORTION_MODELS = ('none', 'plumb_bob')


def rot_x(angle_rad: float) -> np.ndarray:
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rot_y(angle_rad: float) -> np.ndarray:
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_z(angle_rad: float) -> np.ndarray:
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class CameraMount:
    """Pose of the camera's optical centre in ``base_link`` (metres, radians)."""

    x_m: float = 0.0  # forward of the base_link origin
    y_m: float = 0.0  # to the left
    z_m: float = 1.65  # above the ground plane
    roll_rad: float = 0.0  # about the forward axis
    pitch_rad: float = 0.03  # positive = looking down
    yaw_rad: float = 0.0  # positive = looking left

    def r_body_optical(self) -> np.ndarray:
        """3x3 rotation taking optical-frame vectors into ``base_link``."""
        r = rot_z(self.yaw_rad) @ rot_y(self.pitch_rad) @ rot_x(self.roll_rad)
        return r @ R_BODY_OPTICAL

    @classmethod
    def from_matrix(cls, r_body_optical: np.ndarray, t_body_m: np.ndarray) -> CameraMount:
        """The mount whose :meth:`r_body_optical` is ``r_body_optical`` (3x3, optical ->
        ``base_link``) with the optical centre at ``t_body_m`` (``(3,)`` metres, z above ground).

        Angles are the ZYX (yaw, pitch, roll) decomposition of ``r_body_optical R_BODY_OPTICAL^T``
        (pitch within +-90 deg). Raises ValueError if the matrix is not a rotation.
        """
        r = np.asarray(r_body_optical, np.float64).reshape(3, 3)
        if not np.allclose(r @ r.T, np.eye(3), atol=1e-4) or np.linalg.det(r) < 0:
            raise ValueError(f'not a rotation matrix: {r.tolist()}')
        m = r @ R_BODY_OPTICAL.T
        t = np.asarray(t_body_m, np.float64).reshape(3)
        return cls(
            *(float(v) for v in t),
            roll_rad=math.atan2(m[2, 1], m[2, 2]),
            pitch_rad=math.atan2(-m[2, 0], math.hypot(m[0, 0], m[1, 0])),
            yaw_rad=math.atan2(m[1, 0], m[0, 0]),
        )

    @property
    def t_body_m(self) -> np.ndarray:
        """``(3,)`` optical centre in ``base_link``."""
        return np.array([self.x_m, self.y_m, self.z_m])


@dataclass(frozen=True)
class CameraModel:
    """A calibrated camera on the vehicle (see the module docstring for conventions).

    Attributes:
        width_px, height_px: image size the intrinsics refer to.
        fx, fy, cx, cy: pinhole intrinsics in pixels (OpenCV / CameraInfo convention).
        distortion_model: 'none' or 'plumb_bob'.
        distortion: the model's coefficients (plumb_bob: k1, k2, p1, p2, k3).
        mount: where the camera sits on the vehicle.
    """

    width_px: int = 320
    height_px: int = 96
    fx: float = 160.0
    fy: float = 160.0
    cx: float = 159.5
    cy: float = 47.5
    distortion_model: str = 'none'
    distortion: tuple[float, ...] = ()
    mount: CameraMount = field(default_factory=CameraMount)

    # ----------------------------------------------------------------------------- building
    @classmethod
    def from_hfov(
        cls, width_px: int, height_px: int, hfov_deg: float, mount: CameraMount | None = None
    ) -> CameraModel:
        """An ideal pinhole with square pixels and the principal point at the image centre."""
        f = width_px / 2.0 / math.tan(math.radians(hfov_deg) / 2.0)
        return cls(
            int(width_px),
            int(height_px),
            f,
            f,
            (width_px - 1) / 2.0,
            (height_px - 1) / 2.0,
            mount=mount or CameraMount(),
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CameraModel:
        """Inverse of :meth:`to_dict` (checkpoints, scenario.json); raises ValueError if bad."""
        try:
            mount = CameraMount(**{k: float(v) for k, v in dict(data.get('mount', {})).items()})
            cam = cls(
                width_px=int(data['width_px']),
                height_px=int(data['height_px']),
                fx=float(data['fx']),
                fy=float(data['fy']),
                cx=float(data['cx']),
                cy=float(data['cy']),
                distortion_model=str(data.get('distortion_model', 'none')),
                distortion=tuple(float(d) for d in data.get('distortion', ())),
                mount=mount,
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f'not a camera description: {exc!r}') from exc
        cam.validate()
        return cam

    def to_dict(self) -> dict[str, Any]:
        """Plain numbers (JSON-safe) describing the camera."""
        out = asdict(self)
        out['distortion'] = list(self.distortion)
        return out

    def with_mount(self, mount: CameraMount) -> CameraModel:
        return replace(self, mount=mount)

    def scaled(self, width_px: int, height_px: int) -> CameraModel:
        """The same camera for the image resized to ``width_px x height_px`` (no crop)."""
        sx, sy = width_px / self.width_px, height_px / self.height_px
        return replace(
            self,
            width_px=int(width_px),
            height_px=int(height_px),
            fx=self.fx * sx,
            fy=self.fy * sy,
            cx=(self.cx + 0.5) * sx - 0.5,
            cy=(self.cy + 0.5) * sy - 0.5,
        )

    # --------------------------------------------------------------------------- properties
    @property
    def K(self) -> np.ndarray:  # noqa: N802 (the conventional name)
        """3x3 intrinsic matrix."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def D(self) -> np.ndarray:  # noqa: N802 (the conventional name)
        """Distortion coefficients as OpenCV wants them (5 zeros for 'none')."""
        d = np.zeros(5)
        if self.distortion_model == 'plumb_bob':
            d[: len(self.distortion)] = self.distortion[:5]
        return d

    @property
    def hfov_deg(self) -> float:
        """Horizontal field of view of the undistorted pinhole (degrees)."""
        return math.degrees(2.0 * math.atan(self.width_px / (2.0 * self.fx)))

    # --------------------------------------------------------------------------- validation
    def validate(self) -> None:
        """Raise ValueError for degenerate intrinsics or a camera that cannot see the ground."""
        numbers = (self.fx, self.fy, self.cx, self.cy, *self.distortion)
        if not all(math.isfinite(x) for x in numbers):
            raise ValueError(f'camera has non-finite intrinsics: {self.to_dict()}')
        if self.width_px < 8 or self.height_px < 8 or self.fx <= 0 or self.fy <= 0:
            raise ValueError(
                f'degenerate camera: {self.width_px}x{self.height_px} px, '
                f'fx={self.fx}, fy={self.fy}'
            )
        if self.distortion_model not in DISTORTION_MODELS:
            raise ValueError(
                f'unsupported distortion model {self.distortion_model!r} '
                f'(supported: {", ".join(DISTORTION_MODELS)})'
            )
        if not self.mount.z_m > 0:
            raise ValueError(f'camera must be above the ground (z_m={self.mount.z_m})')
        if not self.sees_ground():
            raise ValueError(
                'camera cannot see the ground ahead (pitched up or looking away): '
                f'mount {asdict(self.mount)}'
            )

    def sees_ground(self, ahead_m: tuple[float, float] = (6.0, 30.0)) -> bool:
        """True if ground points straight ahead at these distances fall inside the image."""
        pts = np.array([[d, 0.0, 0.0] for d in ahead_m])
        uv, ok = self.project_body(pts)
        return bool(np.any(ok))

    # --------------------------------------------------------------------------- projection
    def body_to_optical(self, points_body_m: np.ndarray) -> np.ndarray:
        """``(N, 3)`` points in ``base_link`` -> ``(N, 3)`` in the optical frame."""
        p = np.asarray(points_body_m, np.float64).reshape(-1, 3)
        return (p - self.mount.t_body_m) @ self.mount.r_body_optical()

    def project_body(
        self, points_body_m: np.ndarray, min_depth_m: float = 0.1
    ) -> tuple[np.ndarray, np.ndarray]:
        """Project ``base_link`` points: ``(uv (N, 2) float64, inside (N,) bool)``.

        ``inside`` is False for points behind the camera (depth < ``min_depth_m``), outside the
        image, or where the distortion polynomial folds back (far outside the calibrated field);
        their ``uv`` is NaN.
        """
        q = self.body_to_optical(points_body_m)
        front = q[:, 2] > min_depth_m
        uv = np.full((len(q), 2), np.nan)
        if np.any(front):
            qf = q[front]
            if self.distortion_model == 'none':
                uvf = (qf[:, :2] / qf[:, 2:3]) * [self.fx, self.fy] + [self.cx, self.cy]
            else:
                uvf, _ = cv2.projectPoints(qf, np.zeros(3), np.zeros(3), self.K, self.D)
                uvf = uvf.reshape(-1, 2)
                uvf[~self._monotone(qf)] = np.nan
            uv[front] = uvf
        inside = (
            np.isfinite(uv).all(axis=1)
            & (uv[:, 0] >= -0.5)
            & (uv[:, 0] <= self.width_px - 0.5)
            & (uv[:, 1] >= -0.5)
            & (uv[:, 1] <= self.height_px - 0.5)
        )
        uv[~inside] = np.nan
        return uv, inside

    def _monotone(self, q_optical: np.ndarray) -> np.ndarray:
        """Points whose radius lies where plumb_bob's radial polynomial still increases."""
        k1, k2, _, _, k3 = self.D
        r2 = (q_optical[:, 0] ** 2 + q_optical[:, 1] ** 2) / q_optical[:, 2] ** 2
        # d/dr [r (1 + k1 r^2 + k2 r^4 + k3 r^6)] > 0
        return 1 + 3 * k1 * r2 + 5 * k2 * r2**2 + 7 * k3 * r2**3 > 0

    def pixel_rays_body(self, uv: np.ndarray) -> np.ndarray:
        """``(N, 2)`` pixels -> ``(N, 3)`` unit ray directions in ``base_link``."""
        uv = np.asarray(uv, np.float64).reshape(-1, 1, 2)
        if self.distortion_model == 'none':
            xy = (uv.reshape(-1, 2) - [self.cx, self.cy]) / [self.fx, self.fy]
        else:
            criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 50, 1e-10)
            xy = cv2.undistortPoints(uv, self.K, self.D, None, None, None, criteria)
            xy = xy.reshape(-1, 2)
        rays = np.concatenate([xy, np.ones((len(xy), 1))], axis=1)
        rays = rays @ self.mount.r_body_optical().T
        return rays / np.linalg.norm(rays, axis=1, keepdims=True)

    def pixel_to_ground(self, uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(N, 2)`` pixels -> ``(xy_body (N, 2), hits (N,))`` on the ground plane z = 0.

        Rays that do not go down (at or above the horizon) get ``hits = False`` and NaN.
        """
        rays = self.pixel_rays_body(uv)
        down = rays[:, 2] < -1e-9
        t = np.where(down, -self.mount.z_m / np.where(down, rays[:, 2], -1.0), np.nan)
        xy = self.mount.t_body_m[:2] + rays[:, :2] * t[:, None]
        xy[~down] = np.nan
        return xy, down

    def ground_to_pixel(self, xy_body_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(N, 2)`` ground points (z = 0) in ``base_link`` -> ``(uv (N, 2), inside (N,))``."""
        xy = np.asarray(xy_body_m, np.float64).reshape(-1, 2)
        return self.project_body(np.concatenate([xy, np.zeros((len(xy), 1))], axis=1))

    def differences(self, other: CameraModel, rel_tol: float = 0.15) -> list[str]:
        """Human-readable list of how far ``other`` is from this camera (empty = similar).

        Compared: horizontal field of view, mount height (relative ``rel_tol``), pitch and roll
        (5 deg), the aspect ratio (``rel_tol``).
        """
        out = []
        if abs(other.hfov_deg - self.hfov_deg) > rel_tol * self.hfov_deg:
            out.append(f'horizontal FOV {other.hfov_deg:.1f} deg vs {self.hfov_deg:.1f} deg')
        if abs(other.mount.z_m - self.mount.z_m) > rel_tol * self.mount.z_m:
            out.append(f'height {other.mount.z_m:.2f} m vs {self.mount.z_m:.2f} m')
        for name in ('pitch_rad', 'roll_rad'):
            a, b = getattr(other.mount, name), getattr(self.mount, name)
            if abs(a - b) > math.radians(5.0):
                out.append(f'{name[:-4]} {math.degrees(a):.1f} deg vs {math.degrees(b):.1f} deg')
        ar_o, ar_s = other.width_px / other.height_px, self.width_px / self.height_px
        if abs(ar_o - ar_s) > rel_tol * ar_s:
            out.append(f'aspect ratio {ar_o:.2f} vs {ar_s:.2f}')
        return out
