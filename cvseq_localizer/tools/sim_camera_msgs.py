"""ROS messages describing the simulator's camera: ``sensor_msgs/CameraInfo`` and the static TF.

Built from the core :class:`~cvseq_localizer.geo.camera.CameraModel` with the plain-number helpers
of :mod:`cvseq_localizer.sim.camera`; written by ``cvseq-sim`` next to the images.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cvseq_localizer.geo.camera import CameraModel
from cvseq_localizer.ros.conversions import make_header
from cvseq_localizer.ros.msgtypes import MessageTypes
from cvseq_localizer.sim.camera import camera_info_dict, mount_transform
from cvseq_localizer.tools.bagio import typestore

TF_MESSAGE = 'tf2_msgs/msg/TFMessage'


def camera_info_msg(camera: CameraModel, stamp_ns: int, frame_id: str, types: MessageTypes) -> Any:
    """``sensor_msgs/CameraInfo`` for ``camera`` (no binning, full-image ROI)."""
    info = camera_info_dict(camera)
    roi_cls = typestore().types['sensor_msgs/msg/RegionOfInterest']  # not in MessageTypes
    return types.CameraInfo(
        header=make_header(stamp_ns, frame_id, types),
        height=info['height'],
        width=info['width'],
        distortion_model=info['distortion_model'],
        d=np.array(info['d'], np.float64),
        k=np.array(info['k'], np.float64),
        r=np.array(info['r'], np.float64),
        p=np.array(info['p'], np.float64),
        binning_x=0,
        binning_y=0,
        roi=roi_cls(x_offset=0, y_offset=0, height=0, width=0, do_rectify=False),
    )


def tf_static_msg(
    camera: CameraModel, stamp_ns: int, parent: str, child: str, types: MessageTypes
) -> Any:
    """``tf2_msgs/TFMessage`` with the single transform ``parent -> child`` of the mount."""
    t, q = (v.tolist() for v in mount_transform(camera))
    transform = types.Transform(
        translation=types.Vector3(x=t[0], y=t[1], z=t[2]),
        rotation=types.Quaternion(x=q[0], y=q[1], z=q[2], w=q[3]),
    )
    stamped = types.TransformStamped(
        header=make_header(stamp_ns, parent, types), child_frame_id=child, transform=transform
    )
    return typestore().types[TF_MESSAGE](transforms=[stamped])  # not in MessageTypes
