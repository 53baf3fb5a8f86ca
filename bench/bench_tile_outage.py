"""Tile server outage: does the share of frames that run the network recover after it returns?

Run: ``OMP_NUM_THREADS=1 .venv/bin/python bench/bench_tile_outage.py``. Simulates (once, cached in
``.cache/bench``) a drive and serves its ``tiles.mbtiles`` over HTTP on 127.0.0.1. The drive is
replayed twice through the Localizer with that HTTP source, at the bag's rate (``--rate``; the
tile back-off runs on the wall clock, like the node's): clean, and with the server stopped
(connection refused) from frame ``--down`` to frame ``--up``, then restarted on the same port.
The tile deadline per frame is the node's default (``PipelineConfig.tile_deadline_s``).
The default outage starts at the first frame: the tile service prefetches the whole 400 m
simulated world within the first seconds, so an outage that begins later never reaches it
(``--down 30 --up 200`` shows that: ratio 1.0).

Writes ``bench/results/tile_outage.json``: per-run frame counts, ``frames_with_network`` of both
runs, before / during / after the outage, and ``outage_frames_with_network_ratio`` (outage run /
clean run, whole drive) and ``after_return_frames_with_network_ratio`` (the same over the frames
after the restart; goal >= 0.95), ``outage_frames_to_first_network_after_return`` (-1: never).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'test' / 'hostile'))

from mbtiles_server import MBTilesServer  # noqa: E402

from cvseq_localizer.model.checkpoint import save_checkpoint  # noqa: E402
from cvseq_localizer.model.config import ModelConfig  # noqa: E402
from cvseq_localizer.model.net import build_model  # noqa: E402
from cvseq_localizer.pipeline import PipelineConfig, build_localizer  # noqa: E402
from cvseq_localizer.ros.conversions import (  # noqa: E402
    ConversionError,
    image_msg_to_rgb,
    navsatfix_to_gnss,
    stamp_to_ns,
)
from cvseq_localizer.sim.scenario import SimConfig  # noqa: E402
from cvseq_localizer.tools.bagio import read_messages  # noqa: E402
from cvseq_localizer.tools.scenario_files import camera_for_bag, read_scenario  # noqa: E402
from cvseq_localizer.tools.sim_cli import write_scenario  # noqa: E402

CACHE = ROOT / '.cache' / 'bench'
RESULTS = ROOT / 'bench' / 'results' / 'tile_outage.json'
PHASES = ('before', 'during', 'after')


def drive(duration_s: float) -> Path:
    """The bag of a cached simulated drive of ``duration_s`` seconds."""
    folder = CACHE / f'outage_drive_{duration_s:g}s'
    if not (folder / 'scenario.json').exists():
        write_scenario(folder, SimConfig(duration_s=duration_s), seed=23)
    return folder / 'bag'


def tiny_model() -> Path:
    """Random tiny weights: whether the network runs depends on tiles, not on the weights."""
    path = CACHE / 'outage_tiny.pt'
    if not path.exists():
        torch.manual_seed(0)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_checkpoint(build_model(ModelConfig.preset('tiny')), path, {'sat_ground_m': 64.0})
    return path


def run(bag: Path, model: Path, server: MBTilesServer, outage: tuple[int, int] | None,
        rate: float) -> tuple[dict, list[bool]]:  # fmt: skip
    """Replay ``bag`` against ``server``; stop it over frames ``[down, up)`` of ``outage``.

    Returns per-phase counts of frames and of frames whose output carried a network position,
    and that flag per frame.
    """
    zoom = int(read_scenario(bag).get('tile_zoom', 19))
    pipeline = PipelineConfig(model_path=str(model), engine='torch', tiles=server.url,
                              tile_zoom=zoom, camera=camera_for_bag(bag))  # fmt: skip
    localizer = build_localizer(pipeline)
    counts = {f'{p}_{k}': 0 for p in PHASES for k in ('frames', 'frames_with_network')}
    flags: list[bool] = []
    frame, t_wall0, t_bag0 = 0, time.monotonic(), None
    try:
        for item in read_messages(bag, ['/camera/image_raw', '/gnss/fix']):
            t_bag0 = item.stamp_ns if t_bag0 is None else t_bag0
            lag_s = (item.stamp_ns - t_bag0) / 1e9 / rate - (time.monotonic() - t_wall0)
            if lag_s > 0:
                time.sleep(lag_s)  # the bag's pace: the back-off runs on the wall clock
            if item.topic == '/gnss/fix':
                localizer.on_gnss(navsatfix_to_gnss(item.msg))
                continue
            phase = _phase(frame, outage, server)
            try:
                rgb = image_msg_to_rgb(item.msg)
            except ConversionError:
                continue
            out = localizer.on_image(stamp_to_ns(item.msg.header.stamp), rgb)
            counts[f'{phase}_frames'] += 1
            flags.append(out.network_latlon_deg is not None)
            counts[f'{phase}_frames_with_network'] += flags[-1]
            frame += 1
        health = localizer.health()
    finally:
        localizer.close()
        server.start()
    counts['frames_with_network'] = sum(counts[f'{p}_frames_with_network'] for p in PHASES)
    counts['health_frames_with_network'] = health.frames_with_network
    counts['reinitializations'] = health.reinitializations
    return counts, flags


def _phase(frame: int, outage: tuple[int, int] | None, server: MBTilesServer) -> str:
    """Start/stop the server at the outage's frames; the phase of ``frame``."""
    if outage is None or frame < outage[0]:
        return 'before'
    if frame < outage[1]:
        server.stop()
        return 'during'
    server.start()
    return 'after'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--duration-s', type=float, default=40.0, help='drive length')
    parser.add_argument('--down', type=int, default=0, help='frame at which the server stops')
    parser.add_argument('--up', type=int, default=150, help='frame at which it restarts')
    parser.add_argument('--rate', type=float, default=1.0, help='replay speed (1 = real time)')
    parser.add_argument('--model', type=Path, default=None, help='checkpoint (default: tiny)')
    args = parser.parse_args(argv)
    bag = drive(args.duration_s)
    model = args.model or tiny_model()
    server = MBTilesServer(bag.parent / 'tiles.mbtiles')
    try:
        clean, clean_flags = run(bag, model, server, None, args.rate)
        requests_clean = server.requests
        outage, outage_flags = run(bag, model, server, (args.down, args.up), args.rate)
    finally:
        server.stop()
    clean_after = sum(clean_flags[args.up :])
    result = {
        'drive_s': args.duration_s, 'outage_from_frame': args.down, 'outage_to_frame': args.up,
        'rate': args.rate, 'http_requests_clean': requests_clean,
        'http_requests_total': server.requests,
        **{f'clean_{k}': v for k, v in clean.items()},
        **{f'outage_{k}': v for k, v in outage.items()},
        'clean_after_return_frames_with_network': clean_after,
        'outage_frames_to_first_network_after_return': next(
            (i for i, f in enumerate(outage_flags[args.up :]) if f), -1
        ),
        'outage_frames_with_network_ratio': _ratio(
            outage['frames_with_network'], clean['frames_with_network']
        ),
        'after_return_frames_with_network_ratio': _ratio(
            outage['after_frames_with_network'], clean_after
        ),
    }  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + '\n')
    print(json.dumps(result, indent=2))
    return 0


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b else float('nan')


if __name__ == '__main__':
    sys.exit(main())
