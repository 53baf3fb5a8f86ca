"""Replay throughput: frames per second of the whole Localizer on a simulated drive.

Run: ``.venv/bin/python bench/bench_replay.py``. Simulates (once, cached in ``.cache/bench``) a
short drive, exports each model to ONNX (the CPU default engine) and replays the bag as fast as the
CPU allows: tile service, network, particle filter and output bag included. Uses the shipped
``models/small_tam.pt`` when present, random weights otherwise (speed does not depend on them).
Writes ``bench/results/replay.json`` with ``small_fps``, ``paper_fps``, ``peak_rss_mb``.
"""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path

import torch

from cvseq_localizer.model.checkpoint import save_checkpoint
from cvseq_localizer.model.config import ModelConfig
from cvseq_localizer.model.net import build_model
from cvseq_localizer.pipeline import PipelineConfig
from cvseq_localizer.runtime.export import export_checkpoint
from cvseq_localizer.runtime.factory import default_export_dir
from cvseq_localizer.shipped import REPO_MODELS_DIR, SHIPPED_MODEL_FILE
from cvseq_localizer.sim.scenario import SimConfig
from cvseq_localizer.tools.replay import ReplayOptions, replay
from cvseq_localizer.tools.scenario_files import default_tiles_for_bag
from cvseq_localizer.tools.sim_cli import write_scenario

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / '.cache' / 'bench'
RESULTS = ROOT / 'bench' / 'results' / 'replay.json'
SHIPPED = REPO_MODELS_DIR / SHIPPED_MODEL_FILE


def drive(duration_s: float) -> Path:
    folder = CACHE / f'replay_drive_{duration_s:g}s'
    if not (folder / 'scenario.json').exists():
        write_scenario(folder, SimConfig(duration_s=duration_s), seed=21)
    return folder / 'bag'


def model(preset: str) -> Path:
    path = SHIPPED if preset == 'small' and SHIPPED.exists() else CACHE / f'{preset}_random.pt'
    if not path.exists():
        torch.manual_seed(0)
        save_checkpoint(build_model(ModelConfig.preset(preset)), path, {'sat_ground_m': 64.0})
    if not (default_export_dir(path) / 'metadata.json').exists():
        export_checkpoint(path, default_export_dir(path))  # 'auto' then runs ONNX Runtime
    return path


def fps(bag: Path, model_path: Path, out: Path) -> float:
    tiles, zoom = default_tiles_for_bag(bag)
    pipeline = PipelineConfig(model_path=str(model_path), engine='auto', tiles=tiles,
                              tile_zoom=zoom, tile_deadline_s=None)  # fmt: skip
    t0 = time.perf_counter()
    result = replay(bag, out, ReplayOptions(progress=False, pipeline=pipeline))
    elapsed = time.perf_counter() - t0
    assert result.stats['frames_with_network'] == result.frames, result.stats
    return result.frames / elapsed


def main() -> dict:
    torch.set_num_threads(2)
    results = {
        'small_fps': fps(drive(20.0), model('small'), CACHE / 'out_small'),
        'paper_fps': fps(drive(6.0), model('paper'), CACHE / 'out_paper'),
        'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        'small_model': str(SHIPPED if SHIPPED.exists() else 'random weights'),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return results


if __name__ == '__main__':
    main()
