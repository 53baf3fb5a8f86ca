"""What the node knows about its sensors: the camera (CameraInfo + mount) and the GNSS antenna.

No rclpy at import time. :class:`CameraTracker` turns ``sensor_msgs/CameraInfo`` and the mount
into the core's :class:`~cvseq_localizer.geo.camera.CameraModel`, compares it with the camera the
model was trained with and applies the ``camera_mismatch`` policy. :class:`FrameLookup` reads
static transforms from tf2 when ``tf2_ros`` is importable (else it always answers ``None`` and
the callers use their parameters). :func:`apply_lever_arm` moves a fix from the antenna to
``base_link``.
"""

from __future__ import annotations

import math
import threading
from dataclasses import replace
from typing import Any

import numpy as np

from cvseq_localizer.geo.camera import CameraModel, CameraMount
from cvseq_localizer.geo.lever_arm import antenna_to_base
from cvseq_localizer.ros import conversions as conv
from cvseq_localizer.ros.diagnostics import ERROR, OK, WARN, Status
from cvseq_localizer.types import GnssFix


class FrameLookup:
    """``parent -> child`` transforms from tf2 (``None`` without tf2_ros or without the transform).

    Args:
        node: the rclpy node (the tf2 listener subscribes through it).
    """

    def __init__(self, node: Any) -> None:
        try:
            from tf2_ros import Buffer, TransformListener
        except ImportError:
            self.available = False
            self._buffer = None
            return
        self.available = True
        self._buffer = Buffer()
        self._listener = TransformListener(self._buffer, node, spin_thread=False)

    def transform(self, parent: str, child: str) -> Any | None:
        """The latest ``geometry_msgs/Transform`` taking ``child`` coordinates into ``parent``."""
        if self._buffer is None or not child or child == parent:
            return None
        from rclpy.time import Time

        try:
            return self._buffer.lookup_transform(parent, child, Time()).transform
        except Exception:  # tf2's LookupException, ConnectivityException, ...: not known (yet)
            return None


class CameraTracker:
    """The current camera and whether the network may use its frames.

    Args:
        training: the camera the model was trained with (``None`` = not recorded: no check).
        policy: ``'run'``, ``'gnss_only'`` or ``'refuse'`` for a camera unlike ``training``.
    """

    def __init__(self, training: CameraModel | None, policy: str) -> None:
        self.training, self.policy = training, policy
        self.camera: CameraModel | None = None
        self.differences: list[str] = []
        self.mount_source = '-'
        self.infos = 0
        self.bad_infos = 0
        self.size_mismatches = 0
        self._lock = threading.Lock()

    def update(self, msg: Any, mount: CameraMount, mount_source: str) -> str | None:
        """Take a CameraInfo; returns a warning to log once when the camera changed and is unlike
        the training camera (``None`` otherwise).

        Raises:
            ConversionError: a CameraInfo the core cannot use (counted in ``bad_infos``).
        """
        with self._lock:
            self.infos += 1
            try:
                camera = conv.camera_info_to_model(msg, mount)
            except conv.ConversionError:
                self.bad_infos += 1
                raise
            if camera == self.camera:
                return None
            self.camera, self.mount_source = camera, mount_source
            self.differences = self.training.differences(camera) if self.training else []
            if not self.differences:
                return None
            return (
                f'the camera ({camera.width_px}x{camera.height_px} px, mount from '
                f'{mount_source}) is unlike the one the model was trained with: '
                f'{"; ".join(self.differences)}. camera_mismatch: {self.policy}'
            )

    @property
    def mismatched(self) -> bool:
        return bool(self.differences)

    @property
    def network_allowed(self) -> bool:
        """Frames may go to the network (no mismatch, or ``camera_mismatch: run``)."""
        return not self.mismatched or self.policy == 'run'

    @property
    def refused(self) -> bool:
        return self.mismatched and self.policy == 'refuse'

    def camera_for(self, width_px: int, height_px: int) -> tuple[CameraModel | None, bool]:
        """``(camera for a frame of this size, size differs from CameraInfo)``; a frame of
        another size gets the CameraInfo camera scaled to it (a resized stream)."""
        with self._lock:
            cam = self.camera
            if cam is None or (cam.width_px, cam.height_px) == (width_px, height_px):
                return cam, False
            self.size_mismatches += 1
            return cam.scaled(width_px, height_px), True

    def status(self, prefix: str) -> Status:
        """``<prefix>: camera``: CameraInfo received, mismatch and policy."""
        cam = self.camera
        values: dict[str, Any] = {
            'camera_infos': self.infos,
            'bad_camera_infos': self.bad_infos,
            'frames_unlike_camera_info': self.size_mismatches,
            'mount_source': self.mount_source,
            'camera_mismatch': self.policy,
            'training_camera': 'recorded' if self.training else 'not recorded (no check)',
        }
        name = f'{prefix}: camera'
        if cam is None:
            return Status(name, WARN, 'no CameraInfo yet', values)
        values.update({'size_px': f'{cam.width_px}x{cam.height_px}',
                       'hfov_deg': f'{cam.hfov_deg:.1f}', 'height_m': f'{cam.mount.z_m:.2f}',
                       'pitch_deg': f'{math.degrees(cam.mount.pitch_rad):.1f}'})  # fmt: skip
        if self.mismatched:
            values['differences'] = '; '.join(self.differences)
            level = ERROR if self.refused else WARN
            return Status(name, level, f"camera unlike the model's ({self.policy})", values)
        if self.size_mismatches:
            return Status(name, WARN, 'frames of another size than CameraInfo', values)
        return Status(name, OK, 'camera matches the model' if self.training else 'ok', values)


def mount_from(
    lookup: FrameLookup, base_frame: str, frame_id: str, fallback: CameraMount
) -> tuple[CameraMount, str]:
    """The camera mount from TF (``base_frame -> frame_id``), else ``fallback``;
    with where it came from (``'tf'`` or ``'parameters'``)."""
    transform = lookup.transform(base_frame, frame_id)
    if transform is not None:
        try:
            return conv.transform_to_mount(transform), 'tf'
        except conv.ConversionError:
            pass
    return fallback, 'parameters'


def lever_arm_from(
    lookup: FrameLookup, base_frame: str, frame_id: str, fallback: tuple[float, float, float]
) -> np.ndarray:
    """``(3,)`` antenna position in ``base_frame`` (m): TF ``base_frame -> frame_id``, else
    ``fallback``."""
    transform = lookup.transform(base_frame, frame_id)
    if transform is not None:
        t = transform.translation
        return np.array([t.x, t.y, t.z], np.float64)
    return np.asarray(fallback, np.float64)


def apply_lever_arm(fix: GnssFix, lever_body_m: np.ndarray, yaw_rad: float | None) -> GnssFix:
    """The fix moved from the antenna to ``base_link`` (unchanged for a zero lever arm).

    Raises:
        ValueError: a non-zero horizontal lever arm without a heading (``yaw_rad`` None).
    """
    lever = np.asarray(lever_body_m, np.float64)
    if not np.any(lever):
        return fix
    if np.any(lever[:2]) and (yaw_rad is None or not math.isfinite(yaw_rad)):
        raise ValueError('no heading yet to rotate the GNSS lever arm')
    lat, lon, alt = antenna_to_base(fix.lat_deg, fix.lon_deg, fix.alt_m, lever, yaw_rad or 0.0)
    return replace(fix, lat_deg=lat, lon_deg=lon, alt_m=alt)
