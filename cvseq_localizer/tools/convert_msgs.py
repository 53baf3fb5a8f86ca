"""Message builders of ``cvseq-convert``: topics, CameraInfo, TF, compressed images, odometry.

Frames: ``base_link`` (x forward, y left, z up, on the road), ``camera`` (optical: x right,
y down, z forward), ``map`` (ENU at the first ground-truth fix), ``odom`` (dead reckoning from
the first odometry sample).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from cvseq_localizer.geo.camera import CameraModel
from cvseq_localizer.ros.conversions import make_header, rgb_to_image_msg, yaw_to_quaternion

TOPICS = {
    'image': '/camera/image_raw',
    'camera_info': '/camera/camera_info',
    'tf_static': '/tf_static',
    'gnss': '/gnss/fix',
    'gt_fix': '/ground_truth/fix',
    'gt_odometry': '/ground_truth/odometry',
}
MSGTYPES = {
    'image': 'sensor_msgs/msg/Image',
    'camera_info': 'sensor_msgs/msg/CameraInfo',
    'tf_static': 'tf2_msgs/msg/TFMessage',
    'gnss': 'sensor_msgs/msg/NavSatFix',
    'gt_fix': 'sensor_msgs/msg/NavSatFix',
    'gt_odometry': 'nav_msgs/msg/Odometry',
}
COMPRESSED_TOPIC = '/camera/image_raw/compressed'  # the node's convention: name ends /compressed
COMPRESSIONS = ('none', 'jpeg', 'png')
ODOM_TOPIC = '/odom'
# Twist variances written with noise-free /odom (m^2/s^2, rad^2/s^2): vx, vy at 0.1 m/s, yaw
# rate at 0.01 rad/s (z, roll, pitch rates unknown). With KITTI's --odom-noise they are the
# white-noise variances of sim.odometry's model instead (what a car's driver reports).
ODOM_SPEED_VAR, ODOM_YAW_RATE_VAR, _UNKNOWN_VAR = 0.01, 1e-4, 1e6
FRAMES = {'camera': 'camera', 'gnss': 'gnss', 'map': 'map', 'base_link': 'base_link',
          'odom': 'odom'}  # fmt: skip


def quaternion_xyzw(r: np.ndarray) -> tuple[float, float, float, float]:
    """Unit quaternion ``(x, y, z, w)`` of a rotation matrix, ``w >= 0``.

    Hand-written (Shepperd's method: the largest of w, x, y, z first, stable for any angle)
    because scipy is not a dependency.
    """
    m = np.asarray(r, np.float64)
    tr = float(np.trace(m))
    k = int(np.argmax([tr, m[0, 0], m[1, 1], m[2, 2]]))
    if k == 0:
        s = 2.0 * math.sqrt(1.0 + tr)
        q = (m[2, 1] - m[1, 2], m[0, 2] - m[2, 0], m[1, 0] - m[0, 1], s * s / 4)
    else:
        i, j, n = k - 1, k % 3, (k + 1) % 3
        s = 2.0 * math.sqrt(max(1.0 + m[i, i] - m[j, j] - m[n, n], 1e-300))
        v = [0.0, 0.0, 0.0]
        v[i], v[j], v[n] = s * s / 4, m[j, i] + m[i, j], m[n, i] + m[i, n]
        q = (*v, m[n, j] - m[j, n])
    x, y, z, w = (float(c) / s for c in q)
    sign = -1.0 if w < 0 else 1.0
    return sign * x, sign * y, sign * z, sign * w


def camera_info_msg(cam: CameraModel, stamp_ns: int, bag: Any) -> Any:
    """``sensor_msgs/CameraInfo`` of ``cam`` (``none`` is written as plumb_bob with zeros)."""
    t = bag.types
    k = cam.K
    p = np.concatenate([k, np.zeros((3, 1))], axis=1)
    roi = bag.msg_class('sensor_msgs/msg/RegionOfInterest')
    return t.CameraInfo(
        header=make_header(stamp_ns, FRAMES['camera'], t),
        height=cam.height_px,
        width=cam.width_px,
        distortion_model='plumb_bob',
        d=np.asarray(cam.D, np.float64),
        k=k.reshape(9).copy(),
        r=np.eye(3).reshape(9),
        p=p.reshape(12),
        binning_x=0,
        binning_y=0,
        roi=roi(x_offset=0, y_offset=0, height=0, width=0, do_rectify=False),
    )


def tf_static_msg(cam: CameraModel, stamp_ns: int, bag: Any) -> Any:
    """``tf2_msgs/TFMessage`` with ``base_link -> camera`` (optical frame)."""
    t = bag.types
    qx, qy, qz, qw = quaternion_xyzw(cam.mount.r_body_optical())
    x, y, z = (float(v) for v in cam.mount.t_body_m)
    transform = t.TransformStamped(
        header=make_header(stamp_ns, FRAMES['base_link'], t),
        child_frame_id=FRAMES['camera'],
        transform=t.Transform(
            translation=t.Vector3(x=x, y=y, z=z), rotation=t.Quaternion(x=qx, y=qy, z=qz, w=qw)
        ),
    )
    return bag.msg_class('tf2_msgs/msg/TFMessage')(transforms=[transform])


def topics_for(compress: str, odom: bool = False) -> dict[str, tuple[str, str]]:
    """``{key: (topic, msgtype)}`` of a bag whose images are ``compress`` ('none': rgb8),
    with ``/odom`` if ``odom``."""
    if compress not in COMPRESSIONS:
        raise ValueError(f'compression {compress!r} is not one of {COMPRESSIONS}')
    out = {key: (TOPICS[key], MSGTYPES[key]) for key in TOPICS}
    if compress != 'none':
        out['image'] = (COMPRESSED_TOPIC, 'sensor_msgs/msg/CompressedImage')
    if odom:
        out['odom'] = (ODOM_TOPIC, 'nav_msgs/msg/Odometry')
    return out


@dataclass(frozen=True)
class OdomSamples:
    """Planar motion of ``base_link`` (``(N,)`` arrays, time-sorted): velocities in base_link
    (m/s, forward and left) and yaw rate (rad/s, counter-clockwise)."""

    stamp_ns: np.ndarray
    v_forward_mps: np.ndarray
    v_left_mps: np.ndarray
    yaw_rate_rps: np.ndarray
    speed_var: float = ODOM_SPEED_VAR  # reported per-axis velocity variance, m^2/s^2
    yaw_rate_var: float = ODOM_YAW_RATE_VAR  # reported yaw-rate variance, rad^2/s^2

    def subset(self, keep: np.ndarray) -> OdomSamples:
        """The samples selected by ``keep`` (mask or indices), same variances."""
        arrays = (self.stamp_ns, self.v_forward_mps, self.v_left_mps, self.yaw_rate_rps)
        return OdomSamples(*(np.asarray(a)[keep] for a in arrays), self.speed_var,
                           self.yaw_rate_var)  # fmt: skip

    def twist_covariance(self) -> np.ndarray:
        """``(36,)`` row-major twist covariance (vx, vy, z, roll, pitch, yaw rate)."""
        v, w, u = self.speed_var, self.yaw_rate_var, _UNKNOWN_VAR
        return np.diag([v, v, u, u, u, w]).reshape(36)


def integrate_planar(odom: OdomSamples) -> tuple[np.ndarray, np.ndarray]:
    """Dead-reckoned ``(xy (N, 2), yaw (N,))`` in ``odom`` (origin and yaw 0 at sample 0):
    each interval uses the velocities at its start (forward Euler)."""
    n = len(odom.stamp_ns)
    xy, yaw = np.zeros((n, 2)), np.zeros(n)
    dt = np.diff(np.asarray(odom.stamp_ns, np.int64)) * 1e-9
    for k in range(1, n):  # a recursion over headings: no vectorised form
        c, s = math.cos(yaw[k - 1]), math.sin(yaw[k - 1])
        vf, vl = odom.v_forward_mps[k - 1], odom.v_left_mps[k - 1]
        xy[k] = xy[k - 1] + dt[k - 1] * np.array([c * vf - s * vl, s * vf + c * vl])
        yaw[k] = yaw[k - 1] + dt[k - 1] * odom.yaw_rate_rps[k - 1]
    return xy, yaw


def odometry_messages(odom: OdomSamples, types) -> list[tuple[int, str, Any]]:
    """``/odom`` (nav_msgs/Odometry ``odom -> base_link``) from the samples as they are."""
    xy, yaw = integrate_planar(odom)
    unknown = np.diag([_UNKNOWN_VAR] * 6).reshape(36)  # z, roll, pitch unknown; x, y, yaw drift
    twist_cov = odom.twist_covariance()
    out = []
    for k, stamp in enumerate(np.asarray(odom.stamp_ns, np.int64).tolist()):
        twist = types.Twist(
            linear=types.Vector3(x=float(odom.v_forward_mps[k]), y=float(odom.v_left_mps[k]),
                                 z=0.0),
            angular=types.Vector3(x=0.0, y=0.0, z=float(odom.yaw_rate_rps[k])),
        )  # fmt: skip
        pose = types.Pose(
            position=types.Point(x=float(xy[k, 0]), y=float(xy[k, 1]), z=0.0),
            orientation=yaw_to_quaternion(float(yaw[k]), types),
        )
        msg = types.Odometry(
            header=make_header(stamp, FRAMES['odom'], types),
            child_frame_id=FRAMES['base_link'],
            pose=types.PoseWithCovariance(pose=pose, covariance=unknown.copy()),
            twist=types.TwistWithCovariance(twist=twist, covariance=twist_cov.copy()),
        )
        out.append((stamp, ODOM_TOPIC, msg))
    return out


def compressed_image_msg(rgb: np.ndarray, stamp_ns: int, fmt: str, quality: int, types) -> Any:
    """``sensor_msgs/CompressedImage`` (image_transport's ``format`` string) of an RGB image."""
    bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    if fmt == 'jpeg':
        ok, buf = cv2.imencode('.jpg', bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    else:
        ok, buf = cv2.imencode('.png', bgr, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise ValueError(f'OpenCV could not encode a {rgb.shape} image as {fmt}')
    return types.CompressedImage(
        header=make_header(stamp_ns, FRAMES['camera'], types),
        format=f'rgb8; {fmt} compressed bgr8',
        data=types.u8(buf.tobytes()),
    )


@dataclass(frozen=True)
class ImageOutput:
    """How camera frames are stored: ``compress`` 'none' (rgb8 Image), 'jpeg' or 'png'."""

    compress: str = 'none'
    jpeg_quality: int = 90

    def message(self, rgb: np.ndarray, stamp_ns: int, types) -> Any:
        if self.compress == 'none':
            return rgb_to_image_msg(rgb, stamp_ns, FRAMES['camera'], types)
        return compressed_image_msg(rgb, stamp_ns, self.compress, self.jpeg_quality, types)
