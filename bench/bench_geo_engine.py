"""Speed of the geometric-mode engine on this CPU -> ``bench/results/geo_engine.json``.

Full step = BEV projection at the heading prior (numpy/OpenCV) + network (extractor, FFT
correlation over the headings, cell evidence, fusion, TAM, heads) + numpy outputs; the satellite
tile is encoded once (timed separately). FLOPs: ``FlopCounterMode`` for convolutions/matmuls plus
an analytic count of the FFTs (5 N log2 N per complex transform of N points, halved for real).

    .venv/bin/python bench/bench_geo_engine.py [--threads 2] [--iters 60] [--model PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from cvseq_localizer.data.geo_stream import GeoStreamConfig
from cvseq_localizer.geo.camera import CameraModel, CameraMount
from cvseq_localizer.model.geo_checkpoint import save_geo_checkpoint
from cvseq_localizer.model.geo_config import GeoConfig
from cvseq_localizer.model.geo_inputs import bev_input
from cvseq_localizer.model.geometric import GeoLocNet
from cvseq_localizer.runtime.geo_engine import load_geo_engine
from cvseq_localizer.train.geo_trainer import checkpoint_extra

RESULTS = Path(__file__).resolve().parent / 'results' / 'geo_engine.json'


def fft_flops(cfg: GeoConfig, per_tile: bool) -> float:
    """Analytic FLOPs of the FFTs of one frame (or of one tile encode)."""
    p = cfg.sat_feat + cfg.bev_feat - 1
    one = 2.5 * p * p * math.log2(p * p)  # real 2D transform of P x P points
    c1, k = cfg.channels + 1, cfg.num_headings
    if per_tile:
        return k * c1 * one
    products = 8.0 * k * c1 * p * (p // 2 + 1)  # complex multiply-adds over channels
    return c1 * one + k * one + products


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--iters', type=int, default=60)
    ap.add_argument('--model', default='models/small_geo.pt')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    path = Path(args.model)
    if not path.is_file():
        cfg = GeoConfig.preset('geo_small')
        path = Path(tempfile.mkdtemp()) / 'random_geo.pt'
        save_geo_checkpoint(GeoLocNet(cfg), path, checkpoint_extra(cfg, GeoStreamConfig()))
    engine = load_geo_engine(path)
    cfg = engine.config
    rng = np.random.default_rng(0)
    cam = CameraModel.from_hfov(320, 96, 90.0, CameraMount(z_m=1.65, pitch_rad=0.03))
    tile = rng.integers(0, 255, (cfg.sat_size, cfg.sat_size, 3), dtype=np.uint8)
    frames = [rng.integers(0, 255, (96, 320, 3), dtype=np.uint8) for _ in range(4)]
    t = time.perf_counter()
    for _ in range(5):
        feats = engine.encode_satellite(tile)
    encode_ms = (time.perf_counter() - t) / 5 * 1e3
    hidden, steps, proj = None, [], []
    for i in range(args.iters + 5):
        yaw = float(rng.uniform(-math.pi, math.pi))
        t0 = time.perf_counter()
        bev_input(frames[i % 4], cam, cfg, yaw)
        t1 = time.perf_counter()
        out = engine.step(frames[i % 4], feats, hidden, camera=cam, yaw_prior_rad=yaw)
        t2 = time.perf_counter()
        hidden = out.hidden
        if i >= 5:
            proj.append((t1 - t0) * 1e3)
            steps.append((t2 - t1) * 1e3)
    bev, mask = bev_input(frames[0], cam, cfg, 0.0)
    with torch.inference_mode(), FlopCounterMode(display=False) as fc:
        engine.model.step(torch.from_numpy(bev)[None], torch.from_numpy(mask)[None], feats, hidden)
    with torch.inference_mode(), FlopCounterMode(display=False) as fs:
        engine.model.encode_satellite(torch.randn(1, 3, cfg.sat_size, cfg.sat_size))
    res = {
        'threads': args.threads,
        'model': str(args.model if Path(args.model).is_file() else 'random geo_small'),
        'geo_step_p50_ms': float(np.median(steps)),
        'geo_step_p90_ms': float(np.percentile(steps, 90)),
        'geo_projection_p50_ms': float(np.median(proj)),
        'geo_encode_satellite_ms': encode_ms,
        'geo_step_gflop': (fc.get_total_flops() + fft_flops(cfg, False)) / 1e9,
        'geo_encode_satellite_gflop': (fs.get_total_flops() + fft_flops(cfg, True)) / 1e9,
        'load_avg_1min': float(open('/proc/loadavg').read().split()[0]),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))


if __name__ == '__main__':
    main()
