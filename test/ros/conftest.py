"""ROS test fixtures: shared-memory transport, a domain of our own, a short simulated drive."""

import os

import pytest

# Before rclpy initialises anything: shared memory only, one domain per test run (1..200).
os.environ['FASTDDS_BUILTIN_TRANSPORTS'] = 'SHM'
os.environ['ROS_DOMAIN_ID'] = str(1 + os.getpid() % 200)

from ros_testkit import make_scenario, make_tiny_checkpoint  # noqa: E402


@pytest.fixture(scope='session')
def sim_run(tmp_path_factory):
    """``(run_dir, scenario_json)`` of a 4 s drive in a 200 m world."""
    return make_scenario(tmp_path_factory.mktemp('sim'))


@pytest.fixture(scope='session')
def tiny_checkpoint(tmp_path_factory):
    return make_tiny_checkpoint(tmp_path_factory.mktemp('model') / 'tiny.pt')


@pytest.fixture
def ros_context():
    """An initialised rclpy context of this test, shut down afterwards."""
    import rclpy
    from rclpy.context import Context

    context = Context()
    rclpy.init(context=context)
    yield context
    rclpy.try_shutdown(context=context)
