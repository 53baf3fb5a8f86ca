"""Benchmark of CrossViewSeqNet on this CPU: parameters, step and satellite-encode latency.

Run: ``.venv/bin/python bench/bench_model.py`` (2 threads, eval, inference_mode, random
weights). Prints JSON and writes ``bench/results/model.json``. The authors' code re-encodes the
satellite every frame (~2.6 s per frame here, FACTS.md section 1); our online step reuses the
tile's satellite features, so ``paper_speedup_vs_authors = 2600 / paper_step_torch_p50_ms``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import time
from pathlib import Path

import torch

from cvseq_localizer.model import ModelConfig, build_model

AUTHORS_MS_PER_FRAME = 2600.0
RESULTS = Path(__file__).resolve().parent / 'results' / 'model.json'
logger = logging.getLogger(__name__)


def _times_ms(fn, repeats: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def bench_preset(name: str, repeats: int) -> dict[str, float]:
    """Latencies of one preset with TAM (a valid hidden state, i.e. t > 0)."""
    torch.manual_seed(0)
    cfg = ModelConfig.preset(name)
    model = build_model(cfg).eval()
    sat = torch.randn(1, 3, cfg.sat_size, cfg.sat_size)
    ground = torch.randn(1, 3, *cfg.ground_size)
    res = {f'{name}_params': sum(p.numel() for p in model.parameters())}
    with torch.inference_mode():
        feats = model.encode_satellite(sat)
        hidden = model.step(ground, feats, None).hidden
        step = _times_ms(lambda: model.step(ground, feats, hidden), repeats)
        enc = _times_ms(lambda: model.encode_satellite(sat), max(1, repeats // 2))
        g_tok = model.encode_ground(ground)
        gbb = _times_ms(lambda: model.encode_ground(ground), max(1, repeats // 2))
        fus = _times_ms(lambda: model.fuse(feats.tokens, g_tok), max(1, repeats // 2))
    res[f'{name}_step_torch_p50_ms'] = statistics.median(step)
    res[f'{name}_step_torch_min_ms'] = min(step)  # least disturbed run (shared machine)
    res[f'{name}_step_torch_max_ms'] = max(step)
    res[f'{name}_sat_encode_torch_ms'] = statistics.median(enc)
    res[f'{name}_ground_encode_torch_ms'] = statistics.median(gbb)
    res[f'{name}_fusion_torch_ms'] = statistics.median(fus)
    res[f'{name}_step_hz'] = 1e3 / res[f'{name}_step_torch_p50_ms']
    return res


def main(repeats: int = 5, threads: int = 2, out: Path = RESULTS) -> dict[str, float]:
    """Run the benchmark and write ``out``; returns the flat result dict."""
    torch.set_num_threads(threads)
    # The machine is shared: record the load so contended runs can be recognised.
    res: dict[str, float] = {'torch_threads': threads, 'repeats': repeats}
    res['load_avg_1min_start'] = os.getloadavg()[0]
    res['paper_baseline_params'] = sum(
        p.numel() for p in build_model(ModelConfig.preset('paper', temporal=False)).parameters()
    )
    for name in ('tiny', 'small', 'paper'):
        res.update(bench_preset(name, repeats if name == 'paper' else 4 * repeats))
    res['authors_frame_ms'] = AUTHORS_MS_PER_FRAME
    res['paper_speedup_vs_authors'] = AUTHORS_MS_PER_FRAME / res['paper_step_torch_p50_ms']
    res['paper_frame_with_sat_reencode_ms'] = (
        res['paper_sat_encode_torch_ms'] + res['paper_step_torch_p50_ms']
    )
    res['load_avg_1min_end'] = os.getloadavg()[0]
    res['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + '\n')
    return res


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=5, help='timed paper steps')
    parser.add_argument('--threads', type=int, default=2, help='torch intra-op threads')
    args = parser.parse_args()
    print(json.dumps(main(args.repeats, args.threads), indent=2))
