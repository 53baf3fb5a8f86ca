"""Benchmark the torch and ONNX Runtime engines on this CPU -> ``bench/results/engines.json``.

Per preset ('paper': sat 256, ground 260x480; 'small'): satellite encode time and per-frame step
time (satellite cached per tile, hidden state carried, preprocessing of a raw uint8 frame
included), torch and ORT runs interleaved so both see the same machine load. Also the paper
step's FLOPs (``FlopCounterMode``, attention counted through the math SDPA kernel), this CPU's
dense fp32 matmul throughput and the fraction of it the paper step achieves. ``shipped_step_*``:
the default engine's full step (the geometric matcher: projection, heading search, correlation)
on 30 benchmark frames with the default camera.

    .venv/bin/python bench/bench_engines.py [--threads 2] [--paper-iters 8] [--small-iters 40]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from onnx import TensorProto, helper
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from cvseq_localizer.model.config import ModelConfig
from cvseq_localizer.model.net import build_model
from cvseq_localizer.runtime.export import example_inputs, export_model
from cvseq_localizer.runtime.onnx_engine import OrtEngine, session_options
from cvseq_localizer.runtime.torch_engine import TorchEngine

RESULTS = Path(__file__).resolve().parent / 'results' / 'engines.json'


class MatmulProbe:
    """Dense fp32 ``size^3`` matmul throughput (GFLOP/s) in ONNX Runtime (MLAS) and torch.

    On this AMD CPU torch's MKL sgemm takes an AVX2 path at about half the AVX-512 MLAS speed,
    so the machine's dense throughput is the ORT number (the faster kernel available here).
    """

    def __init__(self, threads: int, size: int = 2048) -> None:
        self.size = size
        node = helper.make_node('MatMul', ['A', 'B'], ['C'])
        io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [size, size]) for n in 'ABC']
        graph = helper.make_graph([node], 'matmul', io[:2], io[2:])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 18)])
        model.ir_version = 10  # ORT 1.31 reads IR <= 13
        self.session = ort.InferenceSession(
            model.SerializeToString(), session_options(threads), providers=['CPUExecutionProvider']
        )
        rng = np.random.default_rng(0)
        self.feeds = {k: rng.standard_normal((size, size), np.float32) for k in 'AB'}
        self.torch_ab = [torch.from_numpy(v) for v in self.feeds.values()]
        self()

    def __call__(self) -> float:
        t0 = time.perf_counter()
        self.session.run(None, self.feeds)
        return 2 * self.size**3 / (time.perf_counter() - t0) / 1e9

    def torch_gflops(self) -> float:
        a, b = self.torch_ab
        a @ b
        t0 = time.perf_counter()
        a @ b
        return 2 * self.size**3 / (time.perf_counter() - t0) / 1e9


def step_gflop(model) -> float:
    """FLOPs of one step (ground backbone + fusion + TAM + heads), satellite tokens given."""
    x = example_inputs(model.config)
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as fc:
        model.step_tensors(x['ground'], x['sat_tokens'], x['state'], x['valid'])
    return fc.get_total_flops() / 1e9


def sat_gflop(model) -> float:
    x = example_inputs(model.config)
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        model.encode_satellite(x['sat'])
    return fc.get_total_flops() / 1e9


def rss_mb() -> float:
    """Current resident set size of this process (MB)."""
    for line in Path('/proc/self/status').read_text().splitlines():
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024
    return float('nan')


def time_engines(
    engines: dict, preset: str, iters: int, sat_iters: int, probe: MatmulProbe
) -> dict[str, float]:
    """Interleaved timings of ``encode_satellite`` and ``step`` for every engine (ms), with a
    matmul throughput sample before each round (same machine load as the steps)."""
    cfg = ModelConfig.preset(preset)
    rng = np.random.default_rng(0)
    tile = rng.integers(0, 256, (cfg.sat_size, cfg.sat_size, 3), dtype=np.uint8)
    frames = [rng.integers(0, 256, (*cfg.ground_size, 3), dtype=np.uint8) for _ in range(4)]
    sat_ms = {k: [] for k in engines}
    step_ms = {k: [] for k in engines}
    feats, hidden = {}, {}
    for i in range(sat_iters + 1):
        for key, engine in engines.items():
            t0 = time.perf_counter()
            feats[key] = engine.encode_satellite(tile)
            if i:  # the first call is a warm-up
                sat_ms[key].append((time.perf_counter() - t0) * 1e3)
    matmul = []
    for i in range(iters + 2):
        matmul.append(probe())
        for key, engine in engines.items():
            t0 = time.perf_counter()
            hidden[key] = engine.step(frames[i % 4], feats[key], hidden.get(key)).hidden
            if i >= 2:  # two warm-up steps (the second one is the first with a hidden state)
                step_ms[key].append((time.perf_counter() - t0) * 1e3)
    out = {f'{preset}_matmul_gflops': float(np.median(matmul[2:]))}
    out[f'{preset}_matmul_samples_gflops'] = [round(x, 1) for x in matmul[2:]]
    out[f'{preset}_step_samples_ms'] = {k: [round(x, 1) for x in v] for k, v in step_ms.items()}
    for key in engines:
        p50, p95 = np.percentile(step_ms[key], [50, 95])
        out[f'{preset}_sat_encode_{key}_ms'] = float(np.median(sat_ms[key]))
        out[f'{preset}_step_{key}_p50_ms'] = float(p50)
        out[f'{preset}_step_{key}_p95_ms'] = float(p95)
        out[f'{preset}_step_{key}_min_ms'] = float(np.min(step_ms[key]))
        out[f'{preset}_fps_{key}'] = float(1e3 / p50)
    return out


def bench_preset(
    preset: str, threads: int, iters: int, sat_iters: int, tmp: Path, probe: MatmulProbe
) -> dict:
    torch.manual_seed(0)
    model = build_model(ModelConfig.preset(preset)).eval()
    t0 = time.perf_counter()
    export_model(model, tmp / preset)
    result = {f'{preset}_export_s': time.perf_counter() - t0}
    base = rss_mb()
    engines = {'torch': TorchEngine(model)}
    engines['ort'] = OrtEngine(tmp / preset, intra_op_threads=threads)
    result.update(time_engines(engines, preset, iters, sat_iters, probe))
    result[f'{preset}_rss_after_both_engines_mb'] = rss_mb()
    result[f'{preset}_rss_engines_over_model_mb'] = rss_mb() - base
    return result


def bench_shipped(seeds: int = 3, frames: int = 10) -> dict:
    """The default engine's full step (``shipped.default_model()``: for the geometric matcher
    projection, heading search and correlation) on benchmark frames, default camera."""
    from cvseq_localizer.matching.frame_eval import BENCH_SEEDS, evaluate_engine, make_eval_frames
    from cvseq_localizer.pipeline import PipelineConfig, load_engine_for
    from cvseq_localizer.shipped import default_model
    from cvseq_localizer.sim.camera import CAMERAS

    data = make_eval_frames(list(BENCH_SEEDS)[:seeds], frames, CAMERAS['default'],
                            np.random.default_rng(7))  # fmt: skip
    model = default_model()
    r = evaluate_engine(load_engine_for(PipelineConfig(model_path=str(model))), data)
    return {
        'shipped_model': str(model),
        'shipped_step_p50_ms': r['step_p50_ms'],
        'shipped_step_p90_ms': r['step_p90_ms'],
        'shipped_step_frames': r['n_frames'],
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--threads', type=int, default=2, help='torch and ORT CPU threads')
    parser.add_argument('--paper-iters', type=int, default=8, help='timed paper steps')
    parser.add_argument('--small-iters', type=int, default=40, help='timed small steps')
    parser.add_argument('--out', type=Path, default=RESULTS, help='JSON results file')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    result = {'threads': args.threads, 'load_avg_1min_start': os.getloadavg()[0]}
    result.update(bench_shipped())
    probe = MatmulProbe(args.threads)
    result['machine_matmul_torch_gflops'] = probe.torch_gflops()
    with tempfile.TemporaryDirectory() as tmp:
        for preset, iters, sat_iters in (
            ('small', args.small_iters, 5),
            ('paper', args.paper_iters, 3),
        ):
            result.update(bench_preset(preset, args.threads, iters, sat_iters, Path(tmp), probe))
    samples = result.pop('paper_step_samples_ms')
    mm = result.pop('paper_matmul_samples_gflops')
    del result['small_step_samples_ms'], result['small_matmul_samples_gflops']  # keys stay flat
    paper = build_model(ModelConfig.preset('paper')).eval()
    gflop = result['gflop_per_frame'] = step_gflop(paper)
    result['gflop_sat_encode'] = sat_gflop(paper)
    result['machine_matmul_gflops'] = result['paper_matmul_gflops']
    for key in ('ort', 'torch'):
        step_s = result[f'paper_step_{key}_p50_ms'] / 1e3
        result[f'paper_step_{key}_gflops'] = gflop / step_s
        # Per round: step throughput over the matmul throughput measured just before it.
        fractions = [gflop / (t / 1e3) / m for t, m in zip(samples[key], mm)]
        result[f'achieved_fraction{"" if key == "ort" else "_torch"}'] = float(
            np.median(fractions)
        )
    result['paper_full_frame_ort_ms'] = (
        result['paper_sat_encode_ort_ms'] + (result['paper_step_ort_p50_ms'])
    )
    result['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result['load_avg_1min_end'] = os.getloadavg()[0]
    result = {k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + '\n')
    print(json.dumps(result, indent=2))
    return result


if __name__ == '__main__':
    main()
