"""Benchmark of the ROS 2 node through DDS: GNSS fix -> pose latency while inference runs, and
camera image latency from the header stamp.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python bench/bench_node.py [--duration 15] [--preset paper]``.
Prints JSON and writes ``bench/results/node.json``. A simulated drive is replayed in real time into
the node (in-process executor, shared-memory transport, a domain of its own), re-stamped with the
node clock at publication. The model is an untrained ``--preset`` (same cost as trained; default
``paper``) or ``--model PATH``. The drive's first second goes straight to the Localizer first
(datum, first tile encoding and network call), untimed.

- ``fix_latency_*_ms``: a fix is published stamped "now"; the node answers with a GNSS-only pose
  (``camera_timeout_s`` is set to 50 ms and ``gnss_only_publish_hz`` high, so every fix between
  camera frames is answered); latency = receipt of that pose - the fix's stamp. Counted only for
  fixes published while ``on_image`` was running on the worker (``fixes_during_inference``): the
  number that shows GNSS never waits for the network.
- ``image_latency_*_ms``: receipt of the camera pose - the image's header stamp (the same clock).
- ``inference_*_ms``: duration of ``Localizer.on_image`` on the worker thread;
  ``tile_encoding_*_ms`` of ``engine.encode_satellite`` within it, and the fix latency split into
  fixes published during the network step only / during a tile encoding (which the core runs
  under its state lock, so fixes wait for it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

os.environ['FASTDDS_BUILTIN_TRANSPORTS'] = 'SHM'
os.environ['ROS_DOMAIN_ID'] = str(1 + os.getpid() % 200)

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'test' / 'ros'))  # spinning executor and collectors of the tests

IMAGE, FIX = '/camera/image_raw', '/gnss/fix'


def _model(tmp: Path, preset: str, path: str | None) -> tuple[Path, str]:
    if path:
        return Path(path), path
    from cvseq_localizer.model import build_model
    from cvseq_localizer.model.checkpoint import save_checkpoint
    from cvseq_localizer.model.config import ModelConfig

    out = save_checkpoint(
        build_model(ModelConfig.preset(preset)), tmp / f'{preset}.pt', extra={'sat_ground_m': 64.0}
    )
    return out, f'untrained {preset} preset'


def _scenario(tmp: Path, duration_s: float) -> tuple[Path, int]:
    from cvseq_localizer.sim.scenario import SimConfig
    from cvseq_localizer.sim.world import WorldConfig
    from cvseq_localizer.tools.sim_cli import write_scenario

    config = replace(
        SimConfig(), duration_s=duration_s, world=replace(WorldConfig(), size_m=300.0)
    )
    info = json.loads(write_scenario(tmp / 'sim', config, seed=1).read_text())
    return tmp / 'sim', int(info['tile_zoom'])


def _drive(run: Path, image_every: int) -> list[tuple[str, int, object]]:
    """``(topic, bag offset ns, payload)``: RGB frames (every ``image_every``-th) and fixes."""
    from cvseq_localizer.ros.conversions import image_msg_to_rgb, navsatfix_to_gnss
    from cvseq_localizer.tools.bagio import read_messages

    out, frames, t0 = [], 0, None
    for m in read_messages(run / 'bag', [IMAGE, FIX]):
        t0 = m.stamp_ns if t0 is None else t0
        if m.topic == FIX:
            out.append((FIX, m.stamp_ns - t0, navsatfix_to_gnss(m.msg)))
        elif frames % image_every == 0:
            out.append((IMAGE, m.stamp_ns - t0, image_msg_to_rgb(m.msg)))
            frames += 1
        else:
            frames += 1
    return out


class _InferenceClock:
    """Wraps ``owner.<name>`` to record when it runs (monotonic ns intervals)."""

    def __init__(self, owner, name: str = 'on_image') -> None:
        self.intervals: list[tuple[int, int]] = []
        self.running_since: int | None = None
        self._lock = threading.Lock()
        inner = getattr(owner, name)

        def timed(*args, **kwargs):
            with self._lock:
                self.running_since = time.monotonic_ns()
            try:
                return inner(*args, **kwargs)
            finally:
                with self._lock:
                    self.intervals.append((self.running_since, time.monotonic_ns()))
                    self.running_since = None

        setattr(owner, name, timed)

    def busy(self) -> bool:
        with self._lock:
            return self.running_since is not None


def _run(run: Path, zoom: int, model: Path, engine: str, image_every: int) -> dict:
    import rclpy
    from geometry_msgs.msg import PoseWithCovarianceStamped
    from rclpy.context import Context
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
    from ros_testkit import spinning

    from cvseq_localizer.ros import conversions as conv
    from cvseq_localizer.ros.msgtypes import rclpy_types
    from cvseq_localizer.ros.node import GNSS_ONLY_Z_VARIANCE, LocalizerNode

    types = rclpy_types()
    drive = _drive(run, image_every)
    context = Context()
    rclpy.init(context=context)
    params = {'model_path': str(model), 'engine': engine, 'tiles': f'mbtiles://{run}/tiles.mbtiles',
              'tile_zoom': zoom, 'camera_timeout_s': 0.05, 'gnss_only_publish_hz': 1000.0,
              'camera_mismatch': 'run'}  # fmt: skip
    overrides = [Parameter(k, value=v) for k, v in params.items()]
    node = LocalizerNode(context=context, parameter_overrides=overrides)
    warmup_ms = _warm_up(node.localizer, drive)
    clock = _InferenceClock(node.localizer)
    encoding = _InferenceClock(node.localizer.engine, 'encode_satellite')
    probe = Node('probe', context=context)
    sensor = qos_profile_sensor_data
    pubs = {IMAGE: probe.create_publisher(types.Image, IMAGE, sensor),
            FIX: probe.create_publisher(types.NavSatFix, FIX, sensor)}  # fmt: skip
    received: list[tuple[int, int, bool]] = []  # (stamp_ns, receipt ns, gnss_only)
    probe.create_subscription(
        PoseWithCovarianceStamped, '/cvloc/pose',
        lambda m: received.append((conv.stamp_to_ns(m.header.stamp), time.time_ns(),
                                   m.pose.covariance[14] == GNSS_ONLY_Z_VARIANCE)),
        QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE),
    )  # fmt: skip
    during: set[int] = set()
    encoding_fixes: set[int] = set()  # fixes published while a satellite tile was encoded
    try:
        with spinning(context, node, probe):
            time.sleep(1.0)  # discovery
            wall0 = time.monotonic_ns()
            for topic, offset_ns, payload in drive:
                delay = (wall0 + offset_ns - time.monotonic_ns()) * 1e-9
                if delay > 0:
                    time.sleep(delay)
                stamp = node.get_clock().now().nanoseconds
                if topic == FIX:
                    if clock.busy():
                        during.add(stamp)
                    if encoding.busy():
                        encoding_fixes.add(stamp)
                    fix = replace(payload, stamp_ns=stamp)
                    pubs[FIX].publish(conv.gnss_to_navsatfix(fix, 'gnss', types))
                else:
                    pubs[IMAGE].publish(conv.rgb_to_image_msg(payload, stamp, 'camera', types))
            node.worker.wait_idle(30.0)
            time.sleep(0.5)
            health = node.localizer.health()
    finally:
        rclpy.try_shutdown(context=context)
    return {'received': list(received), 'during': during, 'intervals': clock.intervals,
            'encoding_fixes': encoding_fixes, 'encodings': encoding.intervals,
            'health': health, 'warmup_ms': warmup_ms}  # fmt: skip


def _warm_up(localizer, drive) -> float:
    """Feed the drive's first second straight to the Localizer (datum, first tile encoding,
    first network call: seconds on a loaded CPU) before timing; returns that inference, ms."""
    now = time.time_ns() - 2 * 10**9
    first_image = None
    for topic, offset_ns, payload in drive:
        if offset_ns > 1e9:
            break
        if topic == FIX:
            localizer.on_gnss(replace(payload, stamp_ns=now + offset_ns))
        elif first_image is None:
            first_image = (now + offset_ns, payload)
    t0 = time.monotonic()
    if first_image is not None:
        localizer.on_image(*first_image)
    return (time.monotonic() - t0) * 1e3


def _pct(values_ms: list[float], prefix: str) -> dict:
    a = np.asarray(values_ms, np.float64)
    if a.size == 0:
        return {f'{prefix}_samples': 0}
    return {f'{prefix}_p50_ms': round(float(np.percentile(a, 50)), 2),
            f'{prefix}_p99_ms': round(float(np.percentile(a, 99)), 2),
            f'{prefix}_max_ms': round(float(a.max()), 2),
            f'{prefix}_samples': int(a.size)}  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--duration', type=float, default=15.0, help='drive length, s')
    parser.add_argument('--preset', default='paper', help='untrained model preset (cost only)')
    parser.add_argument('--model', default=None, help='checkpoint instead of --preset')
    parser.add_argument('--engine', default='torch', choices=['auto', 'torch', 'onnx'])
    parser.add_argument('--image-every', type=int, default=5, help='use every N-th sim frame')
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model, model_desc = _model(tmp, args.preset, args.model)
        run, zoom = _scenario(tmp, args.duration)
        r = _run(run, zoom, model, args.engine, args.image_every)
    fixes = [(rx - st) * 1e-6 for st, rx, g in r['received'] if g and st in r['during']]
    enc = r['encoding_fixes']
    step_only = [(rx - st) * 1e-6 for st, rx, g in r['received']
                 if g and st in r['during'] and st not in enc]  # fmt: skip
    in_encoding = [(rx - st) * 1e-6 for st, rx, g in r['received'] if g and st in enc]
    all_fixes = [(rx - st) * 1e-6 for st, rx, g in r['received'] if g]
    images = [(rx - st) * 1e-6 for st, rx, g in r['received'] if not g]
    inference = [(b - a) * 1e-6 for a, b in r['intervals']]
    h = r['health']
    result = {
        'model': model_desc,
        'engine': args.engine,
        **_pct(fixes, 'fix_latency'),
        'fixes_during_inference': len(r['during']),
        **_pct(step_only, 'fix_latency_during_step'),
        **_pct(in_encoding, 'fix_latency_during_tile_encoding'),
        **_pct([(b - a) * 1e-6 for a, b in r['encodings']], 'tile_encoding'),
        **_pct(all_fixes, 'fix_latency_all'),
        **_pct(images, 'image_latency'),
        **_pct(inference, 'inference'),
        'warmup_inference_ms': round(r['warmup_ms'], 1),
        'frames_with_network': h.frames_with_network,
        'frames': h.frames,
        'camera_hz': round(10.0 / args.image_every, 2),
        'gnss_hz': 10.0,
        'omp_num_threads': os.environ.get('OMP_NUM_THREADS', ''),
        'load_average_1min': round(os.getloadavg()[0], 2),
        'cpu_count': os.cpu_count(),
    }
    out = ROOT / 'bench' / 'results' / 'node.json'
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + '\n')
    print(json.dumps(result, indent=2))
    return result


if __name__ == '__main__':
    main()
