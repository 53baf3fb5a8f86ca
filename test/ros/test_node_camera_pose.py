"""Over DDS: CameraInfo changes the camera handed to the Localizer; a camera unlike the model's
follows camera_mismatch; /initialpose re-initialises and ~/reset resets the filter."""

import math

import numpy as np
import pytest
from rclpy.parameter import Parameter
from ros_testkit import Collector, record_cameras, spinning, wait_until

from cvseq_localizer.ros.conversions import ns_to_stamp, rgb_to_image_msg
from cvseq_localizer.ros.msgtypes import rclpy_types
from cvseq_localizer.sim.camera import CAMERAS, camera_info_dict

pytestmark = pytest.mark.ros
T0 = 1_700_000_000 * 10**9
GNSS_ONLY = [Parameter('allow_gnss_only', value=True), Parameter('model_path', value='/nope.pt'),
             Parameter('diagnostics_period_s', value=0.1)]  # fmt: skip


def _info(types, camera, stamp_ns):
    d = camera_info_dict(camera)
    header = types.Header(stamp=ns_to_stamp(stamp_ns, types), frame_id='camera_optical')
    return types.CameraInfo(header=header, height=d['height'], width=d['width'],
                            distortion_model=d['distortion_model'], d=d['d'], k=d['k'], r=d['r'],
                            p=d['p'])  # fmt: skip


def test_camera_info_sets_the_camera_and_a_mismatch_goes_gnss_only(ros_context):
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data

    from cvseq_localizer.ros.node import LocalizerNode

    types = rclpy_types()
    node = LocalizerNode(context=ros_context, parameter_overrides=GNSS_ONLY)
    cameras = record_cameras(node)
    probe = Node('probe', context=ros_context)
    info_pub = probe.create_publisher(types.CameraInfo, '/camera/camera_info',
                                      qos_profile_sensor_data)  # fmt: skip
    image_pub = probe.create_publisher(types.Image, '/camera/image_raw', qos_profile_sensor_data)
    diags = Collector(probe, DiagnosticArray, '/diagnostics')

    def frame(camera, k: int) -> None:
        seen_info, seen_img = node.camera.infos, node.counters.images
        info_pub.publish(_info(types, camera, T0 + k))
        wait_until(lambda: node.camera.infos > seen_info, 10.0, 'camera_info')
        rgb = np.zeros((camera.height_px, camera.width_px, 3), np.uint8)
        image_pub.publish(rgb_to_image_msg(rgb, T0 + k, 'camera_optical', types))
        wait_until(lambda: node.counters.images > seen_img, 10.0, 'image')
        node.worker.wait_idle(10.0)

    with spinning(ros_context, node, probe):
        for pub in (info_pub, image_pub):
            wait_until(lambda p=pub: p.get_subscription_count() > 0, 10.0, 'subscriptions')
        frame(CAMERAS['wide'], 1)
        frame(CAMERAS['tele'], 2)
        assert [c.width_px for c in cameras] == [640, 512]
        assert cameras[0].hfov_deg == pytest.approx(120.0) and cameras[
            1
        ].hfov_deg == pytest.approx(60.0)
        assert cameras[1].distortion_model == 'plumb_bob'
        assert cameras[1].mount.z_m == pytest.approx(1.65)  # camera_mount.* (no tf2_ros)
        # the model's camera (as if recorded in the checkpoint) is the default one: mismatch
        node.camera.training = CAMERAS['default']
        node.camera.camera = None  # forget, so the next CameraInfo is compared
        frame(CAMERAS['wide'], 3)
        assert len(cameras) == 2 and node.counters.bad_images['camera_mismatch'] == 1
        name = 'cvseq_localizer: camera'

        def camera_status():
            s = (
                {x.name: x for x in diags.messages[-1].status}.get(name)
                if diags.messages
                else None
            )
            ok = (
                s is not None and s.level == b'\x01' and 'differences' in {v.key for v in s.values}
            )
            return s if ok else None

        wait_until(camera_status, 10.0, 'camera WARN')
    values = {kv.key: kv.value for kv in camera_status().values}
    assert 'horizontal FOV' in values['differences'] and values['camera_mismatch'] == 'gnss_only'


def test_initialpose_and_reset(ros_context):
    from geometry_msgs.msg import PoseWithCovarianceStamped
    from rclpy.node import Node
    from std_srvs.srv import Trigger

    from cvseq_localizer.ros.node import LocalizerNode

    datum = {'use_fixed_datum': True, 'datum_lat_deg': 49.0, 'datum_lon_deg': 8.4}
    params = [*GNSS_ONLY, *(Parameter(k, value=v) for k, v in datum.items())]
    node = LocalizerNode(context=ros_context, parameter_overrides=params)
    probe = Node('probe', context=ros_context)
    pose_pub = probe.create_publisher(PoseWithCovarianceStamped, '/initialpose', 10)
    reset = probe.create_client(Trigger, '/cvseq_localizer/reset')
    msg = PoseWithCovarianceStamped()
    msg.header.frame_id, msg.header.stamp = 'map', ns_to_stamp(T0, rclpy_types())
    msg.pose.pose.position.x, msg.pose.pose.position.y = 12.0, -7.0
    yaw = 0.7
    msg.pose.pose.orientation.z, msg.pose.pose.orientation.w = math.sin(yaw / 2), math.cos(yaw / 2)
    cov = np.zeros(36)
    cov[0] = cov[7] = 0.25
    cov[35] = 0.01
    msg.pose.covariance = cov
    with spinning(ros_context, node, probe):
        wait_until(lambda: pose_pub.get_subscription_count() > 0, 10.0, 'initialpose sub')
        assert not node.localizer.filter.is_initialized
        pose_pub.publish(msg)
        wait_until(lambda: node.counters.initial_poses == 1, 10.0, 'initial pose')
        est = node.localizer.filter.estimate()
        np.testing.assert_allclose(est.xy_enu_m, [12.0, -7.0], atol=0.2)
        assert abs(math.remainder(est.yaw_rad - yaw, 2 * math.pi)) < 0.2
        assert reset.wait_for_service(10.0)
        future = reset.call_async(Trigger.Request())
        wait_until(future.done, 10.0, 'reset')
        assert future.result().success and not node.localizer.filter.is_initialized
        msg.header.frame_id = 'odom'  # wrong frame: ignored (then a good one, in order)
        pose_pub.publish(msg)
        msg.header.frame_id, msg.pose.pose.position.x = 'map', 30.0
        pose_pub.publish(msg)
        wait_until(lambda: node.counters.initial_poses == 2, 10.0, 'second initial pose')
        np.testing.assert_allclose(node.localizer.filter.estimate().xy_enu_m, [30, -7], atol=0.2)
