"""The node's subscription, service and worker callbacks (mixed into ``LocalizerShell``).

Kept apart from the wiring in ``node.py``; see that module's docstring for the behaviour. The
callbacks never raise: bad input is counted and warned about (rate-limited).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cvseq_localizer.ros import conversions as conv
from cvseq_localizer.ros.diagnostics import ERROR, OK, WARN, Status
from cvseq_localizer.ros.inputs import apply_lever_arm, lever_arm_from, mount_from
from cvseq_localizer.ros.reinit import reinitialize, reset_filter
from cvseq_localizer.types import STATUS_NO_FIX, Estimate, GridBelief, LocalizerOutput

# z variance (m^2) that flags a pose published on GNSS alone (otherwise UNKNOWN_VARIANCE).
GNSS_ONLY_Z_VARIANCE = 1.0e7
# The lever arm is rotated by the estimate's heading only once its std is below this (rad).
HEADING_STD_FOR_LEVER_RAD = math.radians(30.0)


class CallbacksMixin:
    """Callbacks of :class:`~cvseq_localizer.ros.node.LocalizerShell` (needs its attributes)."""

    def _reset_input_state(self) -> None:
        self._last_image_stamp_ns: int | None = None
        self._first_fix_stamp_ns: int | None = None
        self._last_gnss_only_ns: int | None = None
        self._heading_rad: float | None = None
        self._gnss_only = False

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _warn(self, text: str) -> None:
        self.get_logger().warning(text, throttle_duration_sec=self._warn_s)

    # ------------------------------------------------------------------------------ camera
    def _on_camera_info(self, msg: Any) -> None:
        s = self.settings
        mount, source = mount_from(self.frames, s.base_frame, msg.header.frame_id, s.camera_mount)
        try:
            warning = self.camera.update(msg, mount, source)
        except conv.ConversionError as exc:
            self._warn(f'ignoring CameraInfo: {exc}')
            return
        if warning:  # once per camera change
            self.get_logger().warning(warning)

    def _on_image(self, msg: Any) -> None:
        """Decode on the executor thread; inference runs on the worker (never blocks)."""
        if not self.active:
            return
        self.counters.count('images')
        stamp_ns = conv.stamp_to_ns(msg.header.stamp)
        self.health_checks.tick('image', stamp_ns, self._now_ns())
        if not self.camera.network_allowed:
            self.counters.count('bad_images', 'camera_mismatch')
            return
        try:
            rgb = self._decode(msg)
        except conv.ConversionError as exc:
            self.counters.count('bad_images', exc.kind)
            self._warn(f'dropping camera frame: {exc}')
            return
        camera, resized = self.camera.camera_for(rgb.shape[1], rgb.shape[0])
        if resized:
            self._warn(
                f'camera frame is {rgb.shape[1]}x{rgb.shape[0]} px but CameraInfo says '
                f'{self.camera.camera.width_px}x{self.camera.camera.height_px}: intrinsics scaled'
            )
        prev = self._last_image_stamp_ns
        self._last_image_stamp_ns = stamp_ns if prev is None else max(prev, stamp_ns)
        self.worker.submit(stamp_ns, (rgb, camera))

    def _infer(self, stamp_ns: int, frame: tuple[np.ndarray, Any]) -> LocalizerOutput | None:
        rgb, camera = frame
        out = self.localizer.on_image(stamp_ns, rgb, camera=camera)
        self._remember(out)
        return None if out.estimate is None else out

    def _on_inference_error(self, exc: BaseException) -> None:
        self.counters.count('inference_errors')
        self._warn(f'inference failed: {exc!r}')

    def _publish(self, out: LocalizerOutput) -> None:
        self._publish_estimate(out.estimate, out.alt_m, gnss_only=False)
        if 'debug' in self._outputs and out.belief is not None and self.active:
            self._publish_debug(out.belief)

    def _publish_debug(self, belief: GridBelief) -> None:
        rgb = conv.belief_overlay_rgb(belief.prob, belief.geo.image)
        msg = conv.rgb_to_image_msg(rgb, belief.stamp_ns, self.settings.map_frame, self.types)
        self._outputs['debug'].publish(msg)

    # -------------------------------------------------------------------------------- GNSS
    def _on_fix(self, msg: Any) -> None:
        """Lever arm, ``on_gnss``, and a GNSS-only pose while the camera is silent."""
        if not self.active:
            return
        self.counters.count('fixes')
        try:
            fix = conv.navsatfix_to_gnss(msg)
        except conv.ConversionError as exc:
            self.counters.count('bad_fixes', exc.kind)
            self._warn(f'ignoring GNSS fix: {exc}')
            return
        self.health_checks.tick('fix', fix.stamp_ns, self._now_ns())
        usable = fix.is_usable()
        if not usable:
            problem = 'no_fix' if fix.status == STATUS_NO_FIX else 'invalid_position'
            self.counters.count('bad_fixes', problem)
            self._warn(f'ignoring GNSS fix ({problem}: {fix.lat_deg}, {fix.lon_deg})')
        else:
            fix = self._to_base(fix, msg.header.frame_id)
        try:
            out = self.localizer.on_gnss(fix)
        except Exception as exc:  # a bad message must not take the node down
            self.counters.count('bad_fixes', 'error')
            self._warn(f'GNSS fix failed: {exc!r}')
            return
        self._remember(out)
        if usable and out.estimate is not None:
            self._maybe_publish_gnss_only(out)

    def _to_base(self, fix: Any, frame_id: str) -> Any:
        s = self.settings
        lever = lever_arm_from(self.frames, s.base_frame, frame_id, s.gnss_lever_arm_m)
        try:
            return apply_lever_arm(fix, lever, self._heading_rad)
        except ValueError as exc:
            self.counters.count('bad_fixes', 'lever_arm_no_heading')
            self._warn(f'GNSS fix used at the antenna: {exc}')
            return fix

    def _camera_stale(self, stamp_ns: int) -> bool:
        if self._first_fix_stamp_ns is None:
            self._first_fix_stamp_ns = stamp_ns
        if not self.camera.network_allowed:
            return True
        ref = self._last_image_stamp_ns
        ref = self._first_fix_stamp_ns if ref is None else ref
        return (stamp_ns - ref) * 1e-9 > self.settings.camera_timeout_s

    def _maybe_publish_gnss_only(self, out: LocalizerOutput) -> None:
        self._gnss_only = self._camera_stale(out.stamp_ns)
        if not self._gnss_only or self.camera.refused:
            return
        period_ns = 1e9 / self.settings.gnss_only_publish_hz
        last = self._last_gnss_only_ns
        if last is not None and 0 <= out.stamp_ns - last < period_ns:
            return
        self._last_gnss_only_ns = out.stamp_ns
        self.counters.count('gnss_only_poses')
        self._publish_estimate(out.estimate, out.alt_m, gnss_only=True)

    def _remember(self, out: LocalizerOutput) -> None:
        """The heading that rotates the lever arm (once it is known well enough)."""
        est = out.estimate
        if est is not None and 0 <= est.yaw_var_rad2 < HEADING_STD_FOR_LEVER_RAD**2:
            self._heading_rad = float(est.yaw_rad)

    # ---------------------------------------------------------------- odometry, reinit
    def _on_odometry(self, msg: Any) -> None:
        if not self.active:
            return
        self.counters.count('odometry')
        try:
            odo = conv.twist_msg_to_odometry(msg)
            self.health_checks.tick('odom', odo.stamp_ns, self._now_ns())
            self._remember(self.localizer.on_odometry(odo))
        except Exception as exc:  # conversion or filter: counted, never fatal
            self.counters.count('bad_odometry', getattr(exc, 'kind', 'error'))
            self._warn(f'ignoring odometry: {exc!r}')

    def _on_initial_pose(self, msg: Any) -> None:
        frame = msg.header.frame_id
        if frame and frame != self.settings.map_frame:
            self._warn(
                f'ignoring /initialpose in frame {frame!r} (needs {self.settings.map_frame!r})'
            )
            return
        try:
            stamp_ns, xy, cov, yaw, yaw_var = conv.pose_msg_to_xy_yaw(msg)
            reinitialize(self.localizer, stamp_ns or self._now_ns(), xy, cov, yaw, yaw_var)
        except (conv.ConversionError, ValueError) as exc:
            self._warn(f'ignoring /initialpose: {exc}')
            return
        self.counters.count('initial_poses')
        self.get_logger().info(
            f'filter re-initialised at ({xy[0]:.1f}, {xy[1]:.1f}) m from /initialpose'
        )

    def _on_reset(self, _request: Any, response: Any) -> Any:
        reset_filter(self.localizer)
        self.counters.count('resets')
        response.success, response.message = True, 'filter reset: waiting for a GNSS fix'
        self.get_logger().info('filter reset (~/reset)')
        return response

    # ----------------------------------------------------------------------------- publish
    def _publish_estimate(self, est: Estimate, alt_m: float, gnss_only: bool) -> None:
        if not self.active:
            return
        if not conv.estimate_is_finite(est):
            self.counters.count('not_published')
            self._warn('estimate is not finite: not published')
            return
        s, t = self.settings, self.types
        pose = conv.estimate_to_pose_msg(est, s.map_frame, t)
        odom = conv.estimate_to_odometry(est, s.map_frame, s.base_frame, t)
        if gnss_only:
            pose.pose.covariance[14] = GNSS_ONLY_Z_VARIANCE
            odom.pose.covariance[14] = GNSS_ONLY_Z_VARIANCE
        self._outputs['pose'].publish(pose)
        self._outputs['odometry'].publish(odom)
        fix = conv.estimate_to_navsatfix(est, alt_m, s.base_frame, t)
        if fix is not None:
            self._outputs['fix'].publish(fix)
        if self._tf is not None:
            self._tf.sendTransform(conv.estimate_to_transform(est, s.map_frame, s.base_frame, t))
        self.counters.published(est, (self._now_ns() - est.stamp_ns) * 1e-9, gnss_only)

    def _mode_status(self, now_ns: int) -> Status:
        """``<name>: mode``: network + GNSS, GNSS-only (camera silent or unlike), or refusing."""
        name = f'{self.get_name()}: mode'
        last = self._last_image_stamp_ns
        age = '-' if last is None else f'{(now_ns - last) * 1e-9:.3f}'
        values = {'gnss_only_poses': self.counters.gnss_only_poses,
                  'camera_timeout_s': self.settings.camera_timeout_s,
                  'last_camera_stamp_age_s': age,
                  'gnss_only_z_variance_flag': GNSS_ONLY_Z_VARIANCE}  # fmt: skip
        if self.camera.refused:
            return Status(name, ERROR, "refusing: the camera is unlike the model's", values)
        if not self.camera.network_allowed:
            return Status(name, WARN, "GNSS-only: the camera is unlike the model's", values)
        if self._gnss_only:
            return Status(name, WARN, 'GNSS-only: no camera frame for '
                          f'{self.settings.camera_timeout_s:g} s', values)  # fmt: skip
        return Status(name, OK, 'camera and GNSS', values)
