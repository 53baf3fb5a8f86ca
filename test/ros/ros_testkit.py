"""Helpers for the ROS tests: scenario and model files, a spinning executor, bounded waits."""

import json
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from cvseq_localizer.model import build_model
from cvseq_localizer.model.checkpoint import save_checkpoint
from cvseq_localizer.model.config import ModelConfig
from cvseq_localizer.sim.scenario import SimConfig
from cvseq_localizer.sim.world import WorldConfig
from cvseq_localizer.tools.sim_cli import write_scenario

SIM = SimConfig(world=WorldConfig(size_m=200.0), duration_s=4.0)
SIM_SEED = 3
SAT_SIZE, GROUND_SIZE = 64, (32, 64)


def make_scenario(out: Path, config: SimConfig = SIM) -> tuple[Path, dict]:
    path = write_scenario(out, config, SIM_SEED)
    return out, json.loads(path.read_text())


def make_tiny_checkpoint(path: Path) -> Path:
    config = ModelConfig.preset('tiny', sat_size=SAT_SIZE, ground_size=GROUND_SIZE)
    return save_checkpoint(build_model(config), path, extra={'sat_ground_m': 64.0})


def wait_until(predicate, timeout_s: float, what: str, period_s: float = 0.005) -> None:
    """Poll ``predicate`` until true; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f'timed out after {timeout_s} s waiting for {what}')
        time.sleep(period_s)


@contextmanager
def spinning(context, *nodes):
    """Spin ``nodes`` on a background executor; stop and destroy them on exit."""
    from rclpy.executors import SingleThreadedExecutor

    executor = SingleThreadedExecutor(context=context)
    for node in nodes:
        executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    try:
        yield executor
    finally:
        executor.shutdown(timeout_sec=5.0)
        thread.join(5.0)
        for node in nodes:
            node.destroy_node()
        assert not thread.is_alive(), 'executor thread did not stop'


class Collector:
    """Subscribe ``node`` to ``topic`` and keep every message (thread-safe)."""

    def __init__(self, node, msg_type, topic: str, qos=None):
        from rclpy.qos import QoSProfile, ReliabilityPolicy

        qos = qos or QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE)
        self._lock = threading.Lock()
        self._messages = []
        self.sub = node.create_subscription(msg_type, topic, self._on_msg, qos)

    def _on_msg(self, msg) -> None:
        with self._lock:
            self._messages.append(msg)

    @property
    def messages(self) -> list:
        with self._lock:
            return list(self._messages)
