"""The one place where ROS messages and the core's numpy/dataclass values are converted.

The functions read and build messages by field name only, so they work on rclpy messages (live
node) and on rosbags dataclasses (bag replay, simulator) alike; builders take a
:class:`~cvseq_localizer.ros.msgtypes.MessageTypes`. Nothing here imports rclpy.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from cvseq_localizer.geo.camera import CameraModel, CameraMount
from cvseq_localizer.ros.image_conversions import (  # noqa: F401 (re-exported)
    BAYER_CODES,
    CHANNELS,
    SUPPORTED_ENCODINGS,
    ConversionError,
    check_pixels,
    compressed_msg_to_rgb,
    image_msg_to_rgb,
)
from cvseq_localizer.ros.msgtypes import MessageTypes
from cvseq_localizer.types import (
    COVARIANCE_TYPE_APPROXIMATED,
    STATUS_FIX,
    Estimate,
    GnssFix,
    OdometrySample,
)

# Variance for pose components the localizer does not estimate (z, roll, pitch), m^2 / rad^2.
UNKNOWN_VARIANCE = 1.0e6


# ------------------------------------------------------------------------------------------ time
def stamp_to_ns(stamp: Any) -> int:
    """``builtin_interfaces/Time`` -> integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_stamp(stamp_ns: int, types: MessageTypes) -> Any:
    """Integer nanoseconds -> ``builtin_interfaces/Time``."""
    sec, nanosec = divmod(int(stamp_ns), 1_000_000_000)
    return types.Time(sec=sec, nanosec=nanosec)


def make_header(stamp_ns: int, frame_id: str, types: MessageTypes) -> Any:
    return types.Header(stamp=ns_to_stamp(stamp_ns, types), frame_id=frame_id)


def rgb_to_image_msg(rgb: np.ndarray, stamp_ns: int, frame_id: str, types: MessageTypes) -> Any:
    """``H x W x 3`` uint8 RGB -> ``sensor_msgs/Image`` (rgb8)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ConversionError(f'expected HxWx3 uint8, got {rgb.shape} {rgb.dtype}')
    h, w = rgb.shape[:2]
    return types.Image(
        header=make_header(stamp_ns, frame_id, types),
        height=h,
        width=w,
        encoding='rgb8',
        is_bigendian=0,
        step=3 * w,
        data=types.u8(np.ascontiguousarray(rgb).tobytes()),
    )


# ------------------------------------------------------------------------------------------ GNSS
def navsatfix_to_gnss(msg: Any, usable_only: bool = False) -> GnssFix:
    """``sensor_msgs/NavSatFix`` -> :class:`GnssFix`.

    Args:
        usable_only: also apply the usability rule (``GnssFix.problem``) and raise for a fix
            the localizer cannot use; otherwise such a fix is returned for the caller to count.

    Raises:
        ConversionError: fields that are not numbers, a covariance that is not 9 values
            (kind ``covariance``), or with ``usable_only`` the fix's problem as the kind.
    """
    try:
        cov = np.asarray(msg.position_covariance, np.float64).ravel()
        values = (float(msg.latitude), float(msg.longitude), float(msg.altitude))
        stamp_ns = stamp_to_ns(msg.header.stamp)
        cov_type, status = int(msg.position_covariance_type), int(msg.status.status)
    except (TypeError, ValueError, OverflowError, AttributeError) as exc:
        raise ConversionError(f'malformed NavSatFix: {exc}', 'malformed') from None
    if cov.size != 9:
        raise ConversionError(
            f'NavSatFix position_covariance has {cov.size} values, needs 9', 'covariance'
        )
    fix = GnssFix(stamp_ns, *values, cov.reshape(3, 3), cov_type, status)
    problem = fix.problem() if usable_only else ''
    if problem:
        raise ConversionError(
            f'unusable GNSS fix at {stamp_ns} ns ({problem}: status {status}, '
            f'{values[0]!r}, {values[1]!r})',
            problem,
        )
    return fix


def twist_msg_to_odometry(msg: Any) -> OdometrySample:
    """``nav_msgs/Odometry`` or ``geometry_msgs/TwistWithCovarianceStamped`` -> the forward speed
    (``twist.linear.x``, signed) and yaw rate (``twist.angular.z``) with their variances (the
    twist covariance's [0] and [35]; ``None`` when not positive and finite).

    Raises:
        ConversionError: fields that are not numbers or a covariance that is not 36 values.
    """
    try:
        twist = msg.twist  # Odometry.twist and TwistWithCovarianceStamped.twist are both
        cov = np.asarray(twist.covariance, np.float64).ravel()  # TwistWithCovariance
        speed, rate = float(twist.twist.linear.x), float(twist.twist.angular.z)
        stamp_ns = stamp_to_ns(msg.header.stamp)
    except (TypeError, ValueError, OverflowError, AttributeError) as exc:
        raise ConversionError(f'malformed odometry message: {exc}', 'malformed') from None
    if cov.size != 36:
        raise ConversionError(f'twist covariance has {cov.size} values, needs 36', 'covariance')

    def variance(v: float) -> float | None:
        return float(v) if math.isfinite(v) and v > 0 else None

    return OdometrySample(stamp_ns, speed, rate, variance(cov[0]), variance(cov[35]))


def gnss_to_navsatfix(fix: GnssFix, frame_id: str, types: MessageTypes) -> Any:
    """:class:`GnssFix` -> ``sensor_msgs/NavSatFix``."""
    return types.NavSatFix(
        header=make_header(fix.stamp_ns, frame_id, types),
        status=types.NavSatStatus(status=int(fix.status), service=1),
        latitude=float(fix.lat_deg),
        longitude=float(fix.lon_deg),
        altitude=float(fix.alt_m),
        position_covariance=np.asarray(fix.cov_enu_m2, np.float64).reshape(9).copy(),
        position_covariance_type=int(fix.cov_type),
    )


# ---------------------------------------------------------------------------------------- camera
def quaternion_to_matrix(q: Any) -> np.ndarray:
    """3x3 rotation of a (not necessarily unit) quaternion with fields ``x y z w``.

    Raises:
        ConversionError: a zero or non-finite quaternion.
    """
    v = np.array([q.w, q.x, q.y, q.z], np.float64)
    norm = float(np.linalg.norm(v))
    if not (math.isfinite(norm) and norm > 1e-9):
        raise ConversionError(f'not a rotation quaternion: {v.tolist()}', 'malformed')
    w, x, y, z = v / norm
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])  # fmt: skip


def transform_to_mount(transform: Any) -> CameraMount:
    """``geometry_msgs/Transform`` ``base_link -> camera optical frame`` -> :class:`CameraMount`.

    Raises:
        ConversionError: a rotation that is not one.
    """
    t = transform.translation
    try:
        return CameraMount.from_matrix(
            quaternion_to_matrix(transform.rotation), np.array([t.x, t.y, t.z], np.float64)
        )
    except ValueError as exc:
        raise ConversionError(f'camera mount transform: {exc}', 'malformed') from None


def camera_info_to_model(msg: Any, mount: CameraMount) -> CameraModel:
    """``sensor_msgs/CameraInfo`` (K, D, size) + the mount -> :class:`CameraModel`.

    ``plumb_bob`` with all-zero coefficients, or an empty D, is an ideal pinhole (``none``), as
    ROS drivers publish one (``rational_polynomial`` and other models are refused).
    Binning and ROI are not applied (a warning is the caller's business).

    Raises:
        ConversionError: unsupported distortion model, K not 9 finite values, or a camera the
            core refuses (``CameraModel.validate``), kind ``camera``.
    """
    try:
        k = np.asarray(msg.k, np.float64).ravel()
        d = np.asarray(msg.d, np.float64).ravel()
        width, height = int(msg.width), int(msg.height)
        model = str(msg.distortion_model).strip().lower()
    except (TypeError, ValueError, AttributeError) as exc:
        raise ConversionError(f'malformed CameraInfo: {exc}', 'malformed') from None
    if k.size != 9 or not np.all(np.isfinite(k)):
        raise ConversionError(f'CameraInfo K must be 9 finite values, got {k.tolist()}', 'camera')
    if model not in ('plumb_bob', 'none', '') or d.size > 5:
        raise ConversionError(
            f'CameraInfo distortion model {msg.distortion_model!r} with {d.size} coefficients is '
            'not supported (plumb_bob with 5 or none)',
            'camera',
        )
    pinhole = d.size == 0 or not np.any(d)
    camera = CameraModel(
        width, height, float(k[0]), float(k[4]), float(k[2]), float(k[5]),
        'none' if pinhole else 'plumb_bob', () if pinhole else tuple(float(x) for x in d),
        mount,
    )  # fmt: skip
    try:
        camera.validate()
    except ValueError as exc:
        raise ConversionError(f'CameraInfo: {exc}', 'camera') from None
    return camera


def pose_msg_to_xy_yaw(msg: Any) -> tuple[int, np.ndarray, np.ndarray, float, float]:
    """``PoseWithCovarianceStamped`` -> ``(stamp_ns, xy (2,) m, cov_xy (2, 2) m^2, yaw rad,
    yaw variance rad^2)``.

    Raises:
        ConversionError: non-finite values or a covariance that is not 36 values.
    """
    try:
        p = msg.pose.pose.position
        cov = np.asarray(msg.pose.covariance, np.float64).ravel()
        xy = np.array([float(p.x), float(p.y)])
        yaw = quaternion_to_yaw(msg.pose.pose.orientation)
        stamp_ns = stamp_to_ns(msg.header.stamp)
    except (TypeError, ValueError, AttributeError) as exc:
        raise ConversionError(f'malformed pose: {exc}', 'malformed') from None
    if cov.size != 36:
        raise ConversionError(f'pose covariance has {cov.size} values, needs 36', 'covariance')
    cov6 = cov.reshape(6, 6)
    if not (np.all(np.isfinite(xy)) and math.isfinite(yaw) and np.all(np.isfinite(cov6))):
        raise ConversionError('pose has non-finite values', 'malformed')
    return stamp_ns, xy, cov6[:2, :2].copy(), yaw, float(cov6[5, 5])


# ------------------------------------------------------------------------------------ estimates
def yaw_to_quaternion(yaw_rad: float, types: MessageTypes) -> Any:
    """Rotation about +z (REP-103, yaw 0 = east, counter-clockwise)."""
    half = 0.5 * float(yaw_rad)
    return types.Quaternion(x=0.0, y=0.0, z=math.sin(half), w=math.cos(half))


def quaternion_to_yaw(q: Any) -> float:
    """Yaw (rad) of a quaternion, ignoring roll and pitch."""
    return math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))


def _finite(value: float, default: float) -> float:
    return float(value) if math.isfinite(value) else default


def pose_covariance(est: Estimate) -> np.ndarray:
    """Row-major 6x6 covariance (x, y, z, roll, pitch, yaw) of an estimate, NaN-free."""
    cov = np.diag([0.0, 0.0, UNKNOWN_VARIANCE, UNKNOWN_VARIANCE, UNKNOWN_VARIANCE, 0.0])
    xy = np.asarray(est.cov_xy_m2, np.float64)
    cov[:2, :2] = xy if np.all(np.isfinite(xy)) else np.eye(2) * UNKNOWN_VARIANCE
    cov[5, 5] = _finite(est.yaw_var_rad2, UNKNOWN_VARIANCE)
    return cov.reshape(36)


def _pose(est: Estimate, types: MessageTypes) -> Any:
    x, y = (_finite(v, 0.0) for v in np.asarray(est.xy_enu_m, np.float64)[:2])
    return types.PoseWithCovariance(
        pose=types.Pose(
            position=types.Point(x=x, y=y, z=0.0),
            orientation=yaw_to_quaternion(_finite(est.yaw_rad, 0.0), types),
        ),
        covariance=pose_covariance(est),
    )


def estimate_to_pose_msg(est: Estimate, frame_id: str, types: MessageTypes) -> Any:
    """:class:`Estimate` -> ``geometry_msgs/PoseWithCovarianceStamped`` in ``frame_id``."""
    return types.PoseWithCovarianceStamped(
        header=make_header(est.stamp_ns, frame_id, types), pose=_pose(est, types)
    )


def estimate_to_odometry(
    est: Estimate, frame_id: str, child_frame_id: str, types: MessageTypes
) -> Any:
    """:class:`Estimate` -> ``nav_msgs/Odometry`` (twist: forward speed in ``child_frame_id``)."""
    twist_cov = np.diag([1.0, UNKNOWN_VARIANCE, UNKNOWN_VARIANCE] + [UNKNOWN_VARIANCE] * 3)
    return types.Odometry(
        header=make_header(est.stamp_ns, frame_id, types),
        child_frame_id=child_frame_id,
        pose=_pose(est, types),
        twist=types.TwistWithCovariance(
            twist=types.Twist(
                linear=types.Vector3(x=_finite(est.speed_mps, 0.0), y=0.0, z=0.0),
                angular=types.Vector3(x=0.0, y=0.0, z=0.0),
            ),
            covariance=twist_cov.reshape(36),
        ),
    )


def estimate_to_navsatfix(
    est: Estimate, alt_m: float, frame_id: str, types: MessageTypes
) -> Any | None:
    """:class:`Estimate` -> fused ``sensor_msgs/NavSatFix``; ``None`` without a lat/lon."""
    if not (math.isfinite(est.lat_deg) and math.isfinite(est.lon_deg)):
        return None
    cov = np.zeros((3, 3))
    cov[:2, :2] = np.asarray(pose_covariance(est)).reshape(6, 6)[:2, :2]
    cov[2, 2] = UNKNOWN_VARIANCE
    fix = GnssFix(
        stamp_ns=est.stamp_ns,
        lat_deg=est.lat_deg,
        lon_deg=est.lon_deg,
        alt_m=_finite(alt_m, 0.0),
        cov_enu_m2=cov,
        cov_type=COVARIANCE_TYPE_APPROXIMATED,
        status=STATUS_FIX,
    )
    return gnss_to_navsatfix(fix, frame_id, types)


def estimate_to_transform(
    est: Estimate, frame_id: str, child_frame_id: str, types: MessageTypes
) -> Any:
    """:class:`Estimate` -> ``geometry_msgs/TransformStamped`` ``frame_id`` -> ``child``."""
    x, y = (_finite(v, 0.0) for v in np.asarray(est.xy_enu_m, np.float64)[:2])
    return types.TransformStamped(
        header=make_header(est.stamp_ns, frame_id, types),
        child_frame_id=child_frame_id,
        transform=types.Transform(
            translation=types.Vector3(x=x, y=y, z=0.0),
            rotation=yaw_to_quaternion(_finite(est.yaw_rad, 0.0), types),
        ),
    )


def estimate_is_finite(est: Estimate) -> bool:
    """Position, yaw and covariance are all finite (only such estimates are published)."""
    values = np.concatenate(
        [np.ravel(est.xy_enu_m), np.ravel(est.cov_xy_m2), [est.yaw_rad, est.speed_mps]]
    )
    return bool(np.all(np.isfinite(values)))


# ----------------------------------------------------------------------------------- diagnostics
def diagnostics_to_msg(statuses: Any, stamp_ns: int, hardware_id: str, types: MessageTypes) -> Any:
    """Status records -> ``diagnostic_msgs/DiagnosticArray``.

    Args:
        statuses: objects with ``name``, ``level`` (0 OK, 1 WARN, 2 ERROR, 3 STALE), ``message``
            and ``values`` (``{key: value}``, values written with ``str``).
    """
    return types.DiagnosticArray(
        header=make_header(stamp_ns, '', types),
        status=[
            types.DiagnosticStatus(
                level=bytes([int(s.level)]) if not types.bytes_as_array else int(s.level),
                name=str(s.name),
                message=str(s.message),
                hardware_id=hardware_id,
                values=[types.KeyValue(key=str(k), value=str(v)) for k, v in s.values.items()],
            )
            for s in statuses
        ],
    )


# ----------------------------------------------------------------------------------- debug image
def belief_overlay_rgb(prob: np.ndarray, tile_rgb: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Heat map of an ``(N, N)`` cell probability blended over the ``H x W x 3`` uint8 tile.

    Probabilities are scaled by their maximum (red = most likely cell); row 0 is north as in
    both inputs. Non-finite probabilities count as 0.
    """
    if tile_rgb.ndim != 3 or tile_rgb.shape[2] != 3:
        raise ConversionError(f'tile must be HxWx3, got {tile_rgb.shape}')
    p = np.nan_to_num(np.asarray(prob, np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    peak = float(p.max()) if p.size else 0.0
    scaled = np.clip(p / peak, 0.0, 1.0) if peak > 0 else np.zeros_like(p)
    h, w = tile_rgb.shape[:2]
    heat8 = cv2.resize((scaled * 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    heat = cv2.cvtColor(cv2.applyColorMap(heat8, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    tile = np.ascontiguousarray(tile_rgb, np.uint8)
    return cv2.addWeighted(tile, 1.0 - alpha, heat, alpha, 0.0)
