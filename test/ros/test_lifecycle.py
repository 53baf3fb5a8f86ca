"""The lifecycle node: configure / activate / deactivate / cleanup through lifecycle_msgs services
over DDS, each transition checked by what the node then does."""

import numpy as np
import pytest
from rclpy.parameter import Parameter
from ros_testkit import Collector, spinning, wait_until

from cvseq_localizer.localizer import LocalizerConfig
from cvseq_localizer.ros.conversions import gnss_to_navsatfix
from cvseq_localizer.ros.msgtypes import rclpy_types
from cvseq_localizer.types import COVARIANCE_TYPE_DIAGONAL_KNOWN, GnssFix

pytestmark = pytest.mark.ros
T0 = 1_700_000_000 * 10**9
NAME = 'cvseq_localizer'


def _change(probe, client, transition_id: int) -> bool:
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState

    request = ChangeState.Request(transition=Transition(id=transition_id))
    future = client.call_async(request)
    wait_until(future.done, 10.0, f'transition {transition_id}')
    return future.result().success


def _state(get_state) -> str:
    from lifecycle_msgs.srv import GetState

    future = get_state.call_async(GetState.Request())
    wait_until(future.done, 10.0, 'get_state')
    return future.result().current_state.label


def test_lifecycle_transitions(ros_context):
    from geometry_msgs.msg import PoseWithCovarianceStamped
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState, GetState
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data

    from cvseq_localizer.ros.lifecycle_node import LifecycleLocalizerNode

    types = rclpy_types()
    params = [Parameter('allow_gnss_only', value=True), Parameter('model_path', value='/nope.pt')]
    node = LifecycleLocalizerNode(context=ros_context, parameter_overrides=params)
    probe = Node('probe', context=ros_context)
    change = probe.create_client(ChangeState, f'/{NAME}/change_state')
    get_state = probe.create_client(GetState, f'/{NAME}/get_state')
    fix_pub = probe.create_publisher(types.NavSatFix, '/gnss/fix', qos_profile_sensor_data)
    poses = Collector(probe, PoseWithCovarianceStamped, '/cvloc/pose')
    fixes = iter(range(1000))

    def publish_fixes(n: int) -> None:
        for _ in range(n):
            k = next(fixes)
            fix = GnssFix(T0 + k * 10**8, 49.0 + k * 1e-6, 8.4, 100.0, np.diag([4.0, 4.0, 9.0]),
                          COVARIANCE_TYPE_DIAGONAL_KNOWN)  # fmt: skip
            seen = node.counters.fixes
            fix_pub.publish(gnss_to_navsatfix(fix, 'gnss', types))
            wait_until(lambda s=seen: node.counters.fixes > s, 10.0, 'the fix')

    with spinning(ros_context, node, probe):
        assert change.wait_for_service(10.0) and get_state.wait_for_service(10.0)
        assert _state(get_state) == 'unconfigured' and node.localizer is None
        # configure: model and tiles loaded, publishers exist, nothing subscribed yet
        assert _change(probe, change, Transition.TRANSITION_CONFIGURE)
        assert _state(get_state) == 'inactive' and node.localizer is not None
        wait_until(lambda: poses.sub.get_publisher_count() == 1, 10.0, 'pose publisher')
        assert fix_pub.get_subscription_count() == 0
        # activate: subscribed and publishing (GNSS-only poses once the camera is silent)
        assert _change(probe, change, Transition.TRANSITION_ACTIVATE)
        assert _state(get_state) == 'active'
        wait_until(lambda: fix_pub.get_subscription_count() == 1, 10.0, 'fix subscription')
        need = LocalizerConfig().datum_min_fixes + 15  # datum, then > camera_timeout_s
        publish_fixes(need)
        wait_until(lambda: len(poses.messages) > 0, 10.0, 'poses while active')
        # deactivate: unsubscribed, nothing published any more
        assert _change(probe, change, Transition.TRANSITION_DEACTIVATE)
        assert _state(get_state) == 'inactive'
        wait_until(lambda: fix_pub.get_subscription_count() == 0, 10.0, 'unsubscribed')
        count, fixes_seen = len(poses.messages), node.counters.fixes
        node._on_fix(gnss_to_navsatfix(GnssFix(T0 + 10**10, 49.0, 8.4), 'gnss', types))
        assert node.counters.fixes == fixes_seen and len(poses.messages) == count
        # cleanup: model, tiles, worker and publishers released
        assert _change(probe, change, Transition.TRANSITION_CLEANUP)
        assert _state(get_state) == 'unconfigured'
        assert node.localizer is None and node.worker is None
        wait_until(lambda: poses.sub.get_publisher_count() == 0, 10.0, 'publishers gone')
        # and it can be configured again
        assert _change(probe, change, Transition.TRANSITION_CONFIGURE)
        assert node.localizer is not None


def test_configure_fails_cleanly_on_a_missing_model(ros_context, tmp_path):
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState
    from rclpy.node import Node

    from cvseq_localizer.ros.lifecycle_node import LifecycleLocalizerNode

    bad = tmp_path / 'bad.pt'
    bad.write_bytes(b'not a checkpoint')
    params = [Parameter('model_path', value=str(bad)), Parameter('engine', value='torch'),
              Parameter('tiles', value='mbtiles:///nowhere.mbtiles')]  # fmt: skip
    node = LifecycleLocalizerNode(context=ros_context, parameter_overrides=params)
    probe = Node('probe', context=ros_context)
    change = probe.create_client(ChangeState, f'/{NAME}/change_state')
    with spinning(ros_context, node, probe):
        assert change.wait_for_service(10.0)
        assert not _change(probe, change, Transition.TRANSITION_CONFIGURE)
        assert node.localizer is None
