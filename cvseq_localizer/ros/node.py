"""The ``cvseq_localizer`` ROS 2 node: camera + GNSS in, fused pose out.

Thin glue around :class:`~cvseq_localizer.localizer.Localizer`: parameters come from
``params.py``, message conversions from ``conversions.py``, health from ``diagnostics.py``.
GNSS callbacks call ``Localizer.on_gnss`` directly; camera frames are decoded in the callback and
handed to a :class:`LatestFrameWorker` (latest frame wins) whose thread runs ``on_image`` and
publishes. Outputs carry the camera frame's header stamp.

Publishes (relative names, so a namespace applies): ``cvloc/pose``
(PoseWithCovarianceStamped, reliable), ``cvloc/fix`` (fused NavSatFix), ``cvloc/odometry``,
optionally ``cvloc/debug_image``; and ``/diagnostics`` every ``diagnostics_period_s``.
"""

from __future__ import annotations

import time
from typing import Any

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

from cvseq_localizer.pipeline import build_localizer
from cvseq_localizer.ros import conversions as conv
from cvseq_localizer.ros.diagnostics import NodeCounters, collect_statuses
from cvseq_localizer.ros.msgtypes import rclpy_types
from cvseq_localizer.ros.params import NodeSettings, ParameterError, declare_parameters
from cvseq_localizer.types import STATUS_NO_FIX, GridBelief, LocalizerOutput
from cvseq_localizer.worker import LatestFrameWorker

NODE_NAME = 'cvseq_localizer'
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


class LocalizerNode(Node):
    """Subscribes to the camera and GNSS, publishes the fused pose (see the module docstring).

    Raises:
        ParameterError: invalid parameters, or a missing/corrupt model without allow_gnss_only.
    """

    def __init__(self, **node_kwargs: Any) -> None:
        super().__init__(NODE_NAME, **node_kwargs)
        self.settings: NodeSettings = declare_parameters(self)
        self.localizer = _build(self.settings)
        self.types = rclpy_types()
        self.counters = NodeCounters()
        self._warn_s = self.settings.warn_period_s  # throttle per call site (kind of warning)
        self._outputs = self._make_publishers()
        self._tf = self._make_tf_broadcaster()
        self.worker = LatestFrameWorker(self._infer, self._publish, self._on_inference_error)
        self._subscribe()
        self.create_timer(self.settings.diagnostics_period_s, self.publish_diagnostics)
        self.get_logger().info(
            f'listening to {self._image_sub.topic_name} and {self._fix_sub.topic_name}; '
            f'network: {"on" if self.localizer.network_enabled else "off (GNSS-only)"}'
        )

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

    def _subscribe(self) -> None:
        s, t = self.settings, self.types
        image_type = t.CompressedImage if s.image_is_compressed else t.Image
        self._decode = (
            conv.compressed_msg_to_rgb if s.image_is_compressed else conv.image_msg_to_rgb
        )
        self._image_sub = self.create_subscription(
            image_type, s.image_topic, self._on_image, qos_profile_sensor_data
        )
        self._fix_sub = self.create_subscription(
            t.NavSatFix, s.fix_topic, self._on_fix, qos_profile_sensor_data
        )

    # --------------------------------------------------------------------------- callbacks
    def _on_image(self, msg: Any) -> None:
        """Decode on the executor thread; inference runs on the worker (never blocks)."""
        self.counters.count('images')
        try:
            rgb = self._decode(msg)
        except conv.ConversionError as exc:
            self.counters.count('bad_images', exc.kind)
            self.get_logger().warning(
                f'dropping camera frame: {exc}', throttle_duration_sec=self._warn_s
            )
            return
        self.worker.submit(conv.stamp_to_ns(msg.header.stamp), (rgb, time.monotonic()))

    def _on_fix(self, msg: Any) -> None:
        """Feed the fix to the localizer (cheap); unusable fixes are counted and ignored."""
        self.counters.count('fixes')
        fix = conv.navsatfix_to_gnss(msg)
        if not fix.is_usable():
            problem = 'no_fix' if fix.status == STATUS_NO_FIX else 'invalid_position'
            self.counters.count('bad_fixes', problem)
            self.get_logger().warning(
                f'ignoring GNSS fix ({problem}: {fix.lat_deg}, {fix.lon_deg})',
                throttle_duration_sec=self._warn_s,
            )
        try:
            self.localizer.on_gnss(fix)
        except Exception as exc:  # a bad message must not take the node down
            self.counters.count('bad_fixes', 'error')
            self.get_logger().warning(
                f'GNSS fix failed: {exc!r}', throttle_duration_sec=self._warn_s
            )

    # ------------------------------------------------------------------------------ worker
    def _infer(
        self, stamp_ns: int, frame: tuple[Any, float]
    ) -> tuple[LocalizerOutput, float] | None:
        rgb, received = frame
        out = self.localizer.on_image(stamp_ns, rgb)
        return None if out.estimate is None else (out, received)

    def _on_inference_error(self, exc: BaseException) -> None:
        self.counters.count('inference_errors')
        self.get_logger().warning(f'inference failed: {exc!r}', throttle_duration_sec=self._warn_s)

    def _publish(self, result: tuple[LocalizerOutput, float]) -> None:
        out, received = result
        est = out.estimate
        if not conv.estimate_is_finite(est):
            self.counters.count('not_published')
            self.get_logger().warning(
                'estimate is not finite: not published', throttle_duration_sec=self._warn_s
            )
            return
        s, t = self.settings, self.types
        self._outputs['pose'].publish(conv.estimate_to_pose_msg(est, s.map_frame, t))
        odom = conv.estimate_to_odometry(est, s.map_frame, s.base_frame, t)
        self._outputs['odometry'].publish(odom)
        fix = conv.estimate_to_navsatfix(est, out.alt_m, s.map_frame, t)
        if fix is not None:
            self._outputs['fix'].publish(fix)
        if self._tf is not None:
            self._tf.sendTransform(conv.estimate_to_transform(est, s.map_frame, s.base_frame, t))
        if 'debug' in self._outputs and out.belief is not None:
            self._publish_debug(out.belief)
        self.counters.published(est, time.monotonic() - received)

    def _publish_debug(self, belief: GridBelief) -> None:
        rgb = conv.belief_overlay_rgb(belief.prob, belief.geo.image)
        msg = conv.rgb_to_image_msg(rgb, belief.stamp_ns, self.settings.map_frame, self.types)
        self._outputs['debug'].publish(msg)

    # --------------------------------------------------------------------- health, shutdown
    def publish_diagnostics(self) -> None:
        statuses = collect_statuses(self.localizer.health(), self.counters, self.worker.dropped)
        now_ns = self.get_clock().now().nanoseconds
        msg = conv.diagnostics_to_msg(
            statuses, now_ns, self.get_fully_qualified_name(), self.types
        )
        self._outputs['diagnostics'].publish(msg)

    def destroy_node(self) -> None:
        """Stop the inference thread and the tile service, then the node."""
        self.worker.close()
        self.localizer.close()
        super().destroy_node()


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


def spin_node(node: Node) -> None:
    """Spin until Ctrl-C or shutdown, then destroy the node and shut rclpy down."""
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


def main(args: list[str] | None = None) -> int:
    """Console entry point ``cvseq_localizer`` (``ros2 run cvseq_localizer cvseq_localizer``)."""
    rclpy.init(args=args)
    try:
        node = LocalizerNode()
    except ParameterError as exc:
        rclpy.logging.get_logger(NODE_NAME).fatal(str(exc))
        rclpy.try_shutdown()
        return 1
    spin_node(node)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
