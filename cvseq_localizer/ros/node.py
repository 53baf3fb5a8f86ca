"""The ``cvseq_localizer`` ROS 2 node: camera + GNSS (+ odometry) in, fused pose out.

Thin glue around :class:`~cvseq_localizer.localizer.Localizer`. :class:`LocalizerShell` holds
the behaviour in four steps (configure: parameters, model, tiles, publishers; activate:
subscriptions, timers, services; deactivate: stop them and stop publishing; cleanup: release the
model and tiles) that :class:`LocalizerNode` runs at construction and
:class:`~cvseq_localizer.ros.lifecycle_node.LifecycleLocalizerNode` on its transitions.

- Camera frames are decoded on the executor and handed to a latest-frame-wins worker whose thread
  runs ``on_image`` with the camera of the latest ``CameraInfo`` (same namespace as the image,
  sensor QoS; mount from TF ``base_frame -> image frame_id`` or the ``camera_mount.*``
  parameters). A camera unlike the model's is handled by ``camera_mismatch``.
- GNSS fixes are moved from the antenna to ``base_frame`` (lever arm from TF or
  ``gnss_lever_arm.*``, rotated by the estimate's heading) and fed to ``on_gnss``; when no usable
  camera frame came for ``camera_timeout_s`` (header stamps), the GNSS estimate is published at
  most at ``gnss_only_publish_hz``, flagged by a z variance of :data:`GNSS_ONLY_Z_VARIANCE`.
- ``/initialpose`` re-initialises the filter, ``~/reset`` (std_srvs/Trigger) resets it.

Publishes: ``cvloc/pose`` (PoseWithCovarianceStamped, ``map_frame``), ``cvloc/odometry``,
``cvloc/fix`` (NavSatFix of ``base_frame``), optionally ``cvloc/debug_image`` and TF; and
``/diagnostics`` (names prefixed by the node's name) every ``diagnostics_period_s``.
"""

from __future__ import annotations

from typing import Any

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

from cvseq_localizer.pipeline import build_localizer
from cvseq_localizer.ros import conversions as conv
from cvseq_localizer.ros.diagnostics import NodeCounters, collect_statuses
from cvseq_localizer.ros.health import InputHealth
from cvseq_localizer.ros.inputs import CameraTracker, FrameLookup
from cvseq_localizer.ros.msgtypes import rclpy_types
from cvseq_localizer.ros.node_callbacks import GNSS_ONLY_Z_VARIANCE, CallbacksMixin
from cvseq_localizer.ros.params import NodeSettings, ParameterError, declare_parameters
from cvseq_localizer.worker import LatestFrameWorker

NODE_NAME = 'cvseq_localizer'
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
__all__ = ['GNSS_ONLY_Z_VARIANCE', 'LocalizerNode', 'LocalizerShell', 'main']


class LocalizerShell(CallbacksMixin):
    """The node's behaviour, mixed into an rclpy ``Node`` or ``LifecycleNode``."""

    def _shell_init(self) -> None:
        """Declare the parameters (both variants, in ``__init__``)."""
        self.settings: NodeSettings = declare_parameters(self)
        self.types = rclpy_types()
        self.localizer: Any = None
        self.worker: LatestFrameWorker | None = None
        self.active = False
        self._outputs: dict[str, Any] = {}
        self._handles: list[tuple[str, Any]] = []  # (kind, entity) created by activate

    # ------------------------------------------------------------------------- transitions
    def configure_shell(self) -> None:
        """Load the model and tiles, create publishers and the worker.

        Raises:
            ParameterError: the model or tiles cannot be loaded (the message names the file).
        """
        s = self.settings
        self.localizer = _build(s)
        self.counters = NodeCounters()
        self.health_checks = InputHealth(s, self.get_name(), bool(s.odom_topic))
        self.camera = CameraTracker(self._training_camera(), s.camera_mismatch)
        self.frames = FrameLookup(self)
        self._warn_s = s.warn_period_s
        self._reset_input_state()
        self._outputs = self._make_publishers()
        self._tf = self._make_tf_broadcaster()
        self.worker = LatestFrameWorker(self._infer, self._publish, self._on_inference_error)

    def activate_shell(self) -> None:
        """Subscribe, start the timers and services; publishing starts."""
        s, t = self.settings, self.types
        self._decode = (
            conv.compressed_msg_to_rgb if s.image_is_compressed else conv.image_msg_to_rgb
        )
        image_type = t.CompressedImage if s.image_is_compressed else t.Image
        sensor = qos_profile_sensor_data
        self._image_sub = self._keep('sub', self.create_subscription(
            image_type, s.image_topic, self._on_image, sensor))  # fmt: skip
        self._fix_sub = self._keep('sub', self.create_subscription(
            t.NavSatFix, s.fix_topic, self._on_fix, sensor))  # fmt: skip
        self._keep('sub', self.create_subscription(
            t.CameraInfo, s.camera_info_topic_resolved, self._on_camera_info, sensor))  # fmt: skip
        if s.odom_topic:
            odom_type = t.TwistWithCovarianceStamped if s.odom_is_twist else t.Odometry
            self._keep('sub', self.create_subscription(
                odom_type, s.odom_topic, self._on_odometry, sensor))  # fmt: skip
        pose_type = t.PoseWithCovarianceStamped
        self._keep('sub', self.create_subscription(
            pose_type, '/initialpose', self._on_initial_pose, RELIABLE))  # fmt: skip
        from std_srvs.srv import Trigger

        self._keep('srv', self.create_service(Trigger, '~/reset', self._on_reset))
        self._keep('timer', self.create_timer(s.diagnostics_period_s, self.publish_diagnostics))
        self.active = True
        self.get_logger().info(
            f'listening to {self._image_sub.topic_name}, {self._fix_sub.topic_name}'
            f'{", " + s.odom_topic if s.odom_topic else ""}; network: '
            f'{"on" if self.localizer.network_enabled else "off (GNSS-only)"}; TF for mounts: '
            f'{"yes" if self.frames.available else "no (tf2_ros missing: parameters)"}'
        )

    def deactivate_shell(self) -> None:
        """Stop publishing; destroy the subscriptions, timers and services of ``activate``."""
        self.active = False
        destroy = {'sub': self.destroy_subscription, 'timer': self.destroy_timer,
                   'srv': self.destroy_service}  # fmt: skip
        for kind, entity in reversed(self._handles):
            destroy[kind](entity)
        self._handles = []
        if self.worker is not None:
            self.worker.wait_idle(5.0)

    def cleanup_shell(self) -> None:
        """Release the worker thread, model, tiles and publishers (``configure`` undone)."""
        if self.active:
            self.deactivate_shell()
        if self.worker is not None:
            self.worker.close()
            self.worker = None
        if self.localizer is not None:
            self.localizer.close()
            self.localizer = None
        for pub in self._outputs.values():
            self.destroy_publisher(pub)
        self._outputs = {}

    def _keep(self, kind: str, entity: Any) -> Any:
        self._handles.append((kind, entity))
        return entity

    # ---------------------------------------------------------------------------- plumbing
    def _make_publishers(self) -> dict[str, Any]:
        t, s = self.types, self.settings
        pubs = {
            'pose': self.create_publisher(t.PoseWithCovarianceStamped, 'cvloc/pose', RELIABLE),
            'fix': self.create_publisher(t.NavSatFix, 'cvloc/fix', RELIABLE),
            'odometry': self.create_publisher(t.Odometry, 'cvloc/odometry', RELIABLE),
            'diagnostics': self.create_publisher(t.DiagnosticArray, '/diagnostics', RELIABLE),
        }
        if s.publish_debug_image:
            pubs['debug'] = self.create_publisher(
                t.Image, 'cvloc/debug_image', qos_profile_sensor_data
            )
        return pubs

    def _make_tf_broadcaster(self) -> Any | None:
        if not self.settings.publish_tf:
            return None
        try:
            from tf2_ros import TransformBroadcaster
        except ImportError:
            self.get_logger().warning(
                'publish_tf is true but tf2_ros is not installed: no map -> base transform '
                '(cvloc/odometry carries the same pose)'
            )
            return None
        return TransformBroadcaster(self)

    def _training_camera(self) -> Any:
        """The camera recorded with the model (``engine.metadata['camera']``), or None."""
        from cvseq_localizer.geo.camera import CameraModel

        engine = self.localizer.engine
        data = (getattr(engine, 'metadata', None) or {}).get('camera') if engine else None
        try:
            return CameraModel.from_dict(data) if isinstance(data, dict) else None
        except ValueError as exc:
            self.get_logger().warning(f'ignoring the camera recorded with the model: {exc}')
            return None

    # ------------------------------------------------------------------------------ health
    def publish_diagnostics(self) -> None:
        if not self.active:
            return
        now_ns = self.get_clock().now().nanoseconds
        statuses = collect_statuses(
            self.localizer.health(), self.counters, self.worker.dropped, self.get_name()
        )
        statuses += [self.camera.status(self.get_name()), self._mode_status(now_ns)]
        statuses += self.health_checks.run(now_ns)
        msg = conv.diagnostics_to_msg(
            statuses, now_ns, self.get_fully_qualified_name(), self.types
        )
        self._outputs['diagnostics'].publish(msg)


def _build(settings: NodeSettings) -> Any:
    """The Localizer; model/tile failures become a ParameterError naming the file."""
    pipe = settings.pipeline
    try:
        return build_localizer(pipe)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ParameterError(
            f'cannot start with model_path {pipe.model_path!r} and tiles {pipe.tiles!r}: {exc} '
            '(set allow_gnss_only: true to run without the network)'
        ) from exc


class LocalizerNode(LocalizerShell, Node):
    """The plain node: configured and active from construction (see the module docstring).

    Raises:
        ParameterError: invalid parameters, or a missing/corrupt model without allow_gnss_only.
    """

    def __init__(self, **node_kwargs: Any) -> None:
        Node.__init__(self, NODE_NAME, **node_kwargs)
        self._shell_init()
        self.configure_shell()
        self.activate_shell()

    def destroy_node(self) -> None:
        """Stop the inference thread and the tile service, then the node."""
        self.cleanup_shell()
        super().destroy_node()


def spin_node(node: Node) -> None:
    """Spin until Ctrl-C or shutdown, then destroy the node and shut rclpy down."""
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


def run_node(make_node: Any, args: list[str] | None = None) -> int:
    """Init rclpy, build the node (``make_node()``), spin; exit code 1 on bad parameters."""
    rclpy.init(args=args)
    try:
        node = make_node()
    except ParameterError as exc:
        rclpy.logging.get_logger(NODE_NAME).fatal(str(exc))
        rclpy.try_shutdown()
        return 1
    spin_node(node)
    return 0


def main(args: list[str] | None = None) -> int:
    """Console entry point ``cvseq_localizer`` (``ros2 run cvseq_localizer cvseq_localizer``)."""
    return run_node(LocalizerNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
