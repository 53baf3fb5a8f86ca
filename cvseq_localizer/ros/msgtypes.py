"""Message classes from either rclpy's generated packages or a ``rosbags`` type store.

rclpy messages and rosbags dataclasses have the same field names, so one set of conversion
functions (``conversions.py``) serves the live node, the bag tools and the simulator. The two
differ only in how unbounded byte arrays are stored (``bytes`` for rclpy, ``np.ndarray`` for
rosbags); :class:`MessageTypes` hides that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

TYPE_NAMES = {
    'Time': 'builtin_interfaces/msg/Time',
    'Header': 'std_msgs/msg/Header',
    'Image': 'sensor_msgs/msg/Image',
    'CompressedImage': 'sensor_msgs/msg/CompressedImage',
    'CameraInfo': 'sensor_msgs/msg/CameraInfo',
    'NavSatFix': 'sensor_msgs/msg/NavSatFix',
    'NavSatStatus': 'sensor_msgs/msg/NavSatStatus',
    'Point': 'geometry_msgs/msg/Point',
    'Quaternion': 'geometry_msgs/msg/Quaternion',
    'Pose': 'geometry_msgs/msg/Pose',
    'PoseWithCovariance': 'geometry_msgs/msg/PoseWithCovariance',
    'PoseWithCovarianceStamped': 'geometry_msgs/msg/PoseWithCovarianceStamped',
    'Vector3': 'geometry_msgs/msg/Vector3',
    'Twist': 'geometry_msgs/msg/Twist',
    'TwistWithCovariance': 'geometry_msgs/msg/TwistWithCovariance',
    'TwistWithCovarianceStamped': 'geometry_msgs/msg/TwistWithCovarianceStamped',
    'Odometry': 'nav_msgs/msg/Odometry',
    'Transform': 'geometry_msgs/msg/Transform',
    'TransformStamped': 'geometry_msgs/msg/TransformStamped',
    'KeyValue': 'diagnostic_msgs/msg/KeyValue',
    'DiagnosticStatus': 'diagnostic_msgs/msg/DiagnosticStatus',
    'DiagnosticArray': 'diagnostic_msgs/msg/DiagnosticArray',
}


@dataclass(frozen=True)
class MessageTypes:
    """Message classes by short name (``types.Image``...) plus the byte-array flavour."""

    classes: dict[str, Any]
    bytes_as_array: bool

    def __getattr__(self, name: str) -> Any:
        try:
            return self.classes[name]
        except KeyError:
            raise AttributeError(f'no message type {name!r}') from None

    def u8(self, data: bytes) -> bytes | np.ndarray:
        """An unbounded ``uint8[]`` field value in this flavour."""
        return np.frombuffer(data, np.uint8).copy() if self.bytes_as_array else bytes(data)

    def name_of(self, short: str) -> str:
        """ROS type name (``sensor_msgs/msg/Image``) of a short name."""
        return TYPE_NAMES[short]


def rosbags_types(typestore: Any | None = None) -> MessageTypes:
    """Classes from a rosbags type store (default: ROS 2 Jazzy)."""
    if typestore is None:
        from rosbags.typesys import Stores, get_typestore

        typestore = get_typestore(Stores.ROS2_JAZZY)
    classes = {short: typestore.types[full] for short, full in TYPE_NAMES.items()}
    return MessageTypes(classes, bytes_as_array=True)


def rclpy_types() -> MessageTypes:
    """Classes from the installed ROS 2 Python message packages (imported here, lazily)."""
    import importlib

    classes = {}
    for short, full in TYPE_NAMES.items():
        package, _, name = full.split('/')
        classes[short] = getattr(importlib.import_module(f'{package}.msg'), name)
    return MessageTypes(classes, bytes_as_array=False)
