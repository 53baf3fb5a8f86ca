"""Benchmark the simulator on this CPU -> ``bench/results/sim.json``.

Ground frame render time (96 x 320 px default camera, and the 'wide' 480 x 640 px and distorted
'tele' 256 x 512 px presets, with photometric jitter, along a real drive), aerial render
time (256 px at zoom 19 and at the CVIS-like 0.285 m/px), world build time, and the raw-GNSS error
statistics of the default error model over a long run (compare seed 004: mean 4.60 m, p99 20.2 m).

    .venv/bin/python bench/bench_sim.py [--frames 300] [--gnss-hours 100] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from cvseq_localizer.geo import GeoImage
from cvseq_localizer.sim.camera import CAMERAS
from cvseq_localizer.sim.gnss_model import GnssErrorConfig, error_stats, horizontal_errors
from cvseq_localizer.sim.ground import GroundRenderer
from cvseq_localizer.sim.scenario import Scenario, SimConfig, simulate_drive

RESULTS = Path(__file__).resolve().parent / 'results' / 'sim.json'


def _median_ms(fn, n: int) -> float:
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times))


def _preset_ms(scenario: Scenario, name: str, n: int) -> dict[str, float | int]:
    """Median render time of preset camera ``name`` over the first ``n`` poses of the drive."""
    cam = CAMERAS[name]
    renderer = GroundRenderer(scenario.world, cam)
    p = scenario.camera_poses

    def frame(i: int) -> None:
        renderer.render(p.xy_enu_m[i], float(p.yaw_rad[i]), np.random.default_rng(i))

    frame(0)  # warm-up
    return {
        f'ground_render_{name}_ms': round(_median_ms(frame, min(n, len(scenario))), 3),
        f'ground_{name}_width_px': cam.width_px,
        f'ground_{name}_height_px': cam.height_px,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--frames', type=int, default=300, help='ground frames to time')
    parser.add_argument('--gnss-hours', type=float, default=100.0, help='simulated GNSS hours')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--preset-frames', type=int, default=60, help='frames per camera preset')
    args = parser.parse_args()

    config = SimConfig(duration_s=args.frames / 10.0)
    t0 = time.perf_counter()
    scenario = simulate_drive(config, np.random.default_rng(args.seed))
    build_s = time.perf_counter() - t0
    scenario.render_frame(0)  # warm-up (renderer set-up)
    ground_ms = _median_ms(scenario.render_frame, len(scenario))

    world = scenario.world
    lat, lon = world.frame.lat0_deg, world.frame.lon0_deg
    tile = GeoImage.centered(np.zeros((256, 256, 3), np.uint8), lat, lon, 19)
    # CVIS-like: 640 px at zoom 20 resized to 256 px (~0.285 m/px).
    cvis = GeoImage.centered(np.zeros((256, 256, 3), np.uint8), lat, lon, 20, (2.5, 2.5))
    aerial_ms = _median_ms(lambda i: world.render_aerial(tile), 200)
    aerial_cvis_ms = _median_ms(lambda i: world.render_aerial(cvis), 200)

    n = int(args.gnss_hours * 3600)
    err, _ = horizontal_errors(n, 1.0, GnssErrorConfig(), np.random.default_rng(args.seed))
    stats = error_stats(err)
    result = {
        'ground_render_ms': round(ground_ms, 3),
        'ground_width_px': config.camera.width_px,
        'ground_height_px': config.camera.height_px,
        **_preset_ms(scenario, 'wide', args.preset_frames),
        **_preset_ms(scenario, 'tele', args.preset_frames),
        'aerial_render_ms': round(aerial_ms, 3),
        'aerial_render_cvis_ms': round(aerial_cvis_ms, 3),
        'aerial_px': 256,
        'world_build_and_plan_s': round(build_s, 3),
        'world_size_m': config.world.size_m,
        'gnss_mean_error_m': round(stats['mean_m'], 3),
        'gnss_median_error_m': round(stats['median_m'], 3),
        'gnss_p90_error_m': round(stats['p90_m'], 3),
        'gnss_p95_error_m': round(stats['p95_m'], 3),
        'gnss_p99_error_m': round(stats['p99_m'], 3),
        'gnss_hours': args.gnss_hours,
        'frames': len(scenario),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + '\n')
    print(json.dumps(result, indent=2))


if __name__ == '__main__':
    main()
