"""Benchmark of the ROS 2 node through DDS: image -> pose latency and the rate it sustains.

Run: ``.venv/bin/python bench/bench_node.py [--duration 15] [--engine auto]``. Prints JSON and
writes ``bench/results/node.json``. A simulated drive is played into the node (in-process
executor, shared-memory transport, a domain of its own) with the shipped model
``models/small_tam.pt`` if present, else an untrained ``small`` preset (same cost).

- latency: one camera frame at a time (the next is published after the pose arrives), from
  ``publish`` of the image to receipt of ``/cvloc/pose`` by a subscriber: p50/p90/max.
  ``closed_loop_hz``: frames per second of that run (the rate the node could sustain).
- sustained: the bag at recorded speed (10 Hz camera + 10 Hz GNSS); poses per second received,
  and frames dropped by the latest-frame-wins worker (dropped, never queued).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ['FASTDDS_BUILTIN_TRANSPORTS'] = 'SHM'
os.environ['ROS_DOMAIN_ID'] = str(1 + os.getpid() % 200)

import numpy as np  # noqa: E402

from cvseq_localizer.shipped import REPO_MODELS_DIR, SHIPPED_MODEL_FILE  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'test' / 'ros'))  # spinning executor and collectors of the tests

IMAGE, FIX = '/camera/image_raw', '/gnss/fix'


def _model(tmp: Path) -> tuple[Path, str]:
    shipped = REPO_MODELS_DIR / SHIPPED_MODEL_FILE
    if shipped.exists():
        return shipped, f'shipped {SHIPPED_MODEL_FILE}'
    from cvseq_localizer.model import build_model
    from cvseq_localizer.model.checkpoint import save_checkpoint
    from cvseq_localizer.model.config import ModelConfig

    path = save_checkpoint(
        build_model(ModelConfig.preset('small')), tmp / 'small.pt', extra={'sat_ground_m': 64.0}
    )
    return path, 'untrained small preset'


def _scenario(tmp: Path, duration_s: float) -> tuple[Path, int]:
    from cvseq_localizer.sim.scenario import SimConfig
    from cvseq_localizer.sim.world import WorldConfig
    from cvseq_localizer.tools.sim_cli import write_scenario

    base = SimConfig()
    config = replace(base, duration_s=duration_s, world=replace(WorldConfig(), size_m=300.0))
    info = json.loads(write_scenario(tmp / 'sim', config, seed=1).read_text())
    return tmp / 'sim', int(info['tile_zoom'])


def _run(run: Path, zoom: int, model: Path, engine: str, closed_loop: bool) -> dict:
    import rclpy
    from geometry_msgs.msg import PoseWithCovarianceStamped
    from rclpy.context import Context
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from ros_testkit import spinning, wait_until

    from cvseq_localizer.ros.conversions import stamp_to_ns
    from cvseq_localizer.ros.node import LocalizerNode
    from cvseq_localizer.tools.play import PlayOptions, play

    RELIABLE = QoSProfile(depth=500, reliability=ReliabilityPolicy.RELIABLE)  # noqa: N806
    context = Context()
    rclpy.init(context=context)
    params = {
        'model_path': str(model),
        'engine': engine,
        'tiles': f'mbtiles://{run}/tiles.mbtiles',
        'tile_zoom': zoom,
    }
    overrides = [Parameter(k, value=v) for k, v in params.items()]
    node = LocalizerNode(context=context, parameter_overrides=overrides)
    probe, player = Node('probe', context=context), Node('player', context=context)
    received: list[tuple[int, float]] = []  # (stamp_ns, receipt time) of every pose
    probe.create_subscription(
        PoseWithCovarianceStamped,
        '/cvloc/pose',
        lambda m: received.append((stamp_to_ns(m.header.stamp), time.monotonic())),
        RELIABLE,
    )
    sent: dict[int, float] = {}

    def after(topic: str, stamp_ns: int) -> None:
        if topic != IMAGE:
            return
        sent[stamp_ns] = time.monotonic()
        if closed_loop:
            n = len(sent)
            wait_until(lambda: node.worker.processed >= n, 30.0, 'the frame', 0.0005)

    try:
        with spinning(context, node, probe, player):
            options = PlayOptions(
                rate=1000.0 if closed_loop else 1.0,
                topics=[IMAGE, FIX],
                wait_for_subscribers_s=10.0,
                after_publish=after,
            )
            t0 = time.monotonic()
            play(run / 'bag', options, player)
            node.worker.wait_idle(30.0)
            time.sleep(0.2)
            wall_s = time.monotonic() - t0
            dropped, images = node.worker.dropped, node.counters.images
            stats = node.localizer.health()
    finally:
        rclpy.try_shutdown(context=context)
    return {
        'sent': sent,
        'received': list(received),
        'wall_s': wall_s,
        'dropped': dropped,
        'frames_with_network': stats.frames_with_network,
        'frames_without_tile': stats.frames_without_tile,
        'images': images,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--duration', type=float, default=15.0, help='drive length, s')
    parser.add_argument('--engine', default='auto', choices=['auto', 'torch', 'onnx'])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model, model_desc = _model(tmp)
        run, zoom = _scenario(tmp, args.duration)
        closed = _run(run, zoom, model, args.engine, closed_loop=True)
        lat = _latency(closed)
        sus = _run(run, zoom, model, args.engine, closed_loop=False)
    result = {
        'model': model_desc,
        'engine': args.engine,
        **lat,
        'sustained_hz': round(len(sus['received']) / sus['wall_s'], 2),
        'camera_hz': 10.0,
        'closed_loop_hz': round(len(closed['sent']) / closed['wall_s'], 2),
        'frames_published': len(sus['sent']),
        'frames_received_by_node': sus['images'],
        'frames_dropped': sus['dropped'],
        'latency_frames_with_network': closed['frames_with_network'],
        'latency_frames_without_tile': closed['frames_without_tile'],
        'sustained_frames_with_network': sus['frames_with_network'],
        'poses': len(sus['received']),
        'load_average_1min': round(os.getloadavg()[0], 2),
        'cpu_count': os.cpu_count(),
    }
    out = ROOT / 'bench' / 'results' / 'node.json'
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + '\n')
    print(json.dumps(result, indent=2))
    return result


def _latency(r: dict) -> dict:
    ms = np.asarray([(t - r['sent'][stamp]) * 1e3 for stamp, t in r['received']])
    return {
        'latency_p50_ms': round(float(np.percentile(ms, 50)), 1),
        'latency_p90_ms': round(float(np.percentile(ms, 90)), 1),
        'latency_max_ms': round(float(ms.max()), 1),
        'latency_samples': int(ms.size),
    }


if __name__ == '__main__':
    main()
