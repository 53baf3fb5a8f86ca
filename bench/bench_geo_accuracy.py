"""Held-out accuracy of the geometric model -> ``bench/results/geo_accuracy.json``.

Towns from seeds 7100+ (neither training, validation 7000-7007, development 8000-8099 nor benchmark
9000-9099), sequences of 4 frames 3 m apart, tile centre N(0, 8 m) from the sequence, heading
prior error N(0, 8 deg) per frame. Rows: the default camera and random cameras (60-120 deg FOV,
1.2-2.2 m, pitch 0-10 deg). Metrics: one frame (the first of each sequence, no history) median
and within 4 m for the TAM model, the baseline (same weights, TAM off: stage-1 checkpoint) and
the training-free reference (the model's masked-NCC grayscale channel alone, learned channels
zeroed); sequence means (all 4 frames) for TAM vs baseline.

    .venv/bin/python bench/bench_geo_accuracy.py [--tam models/small_geo.pt]
        [--baseline models/small_geo_baseline.pt] [--worlds 8] [--per-world 8]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from cvseq_localizer.data.geo_stream import GeoStreamConfig, WorldSequences
from cvseq_localizer.model.geo_checkpoint import load_geo_checkpoint
from cvseq_localizer.model.geometric import GeoLocNet
from cvseq_localizer.train.geo_trainer import evaluate

RESULTS = Path(__file__).resolve().parent / 'results' / 'geo_accuracy.json'
SEED_START = 7100


def samples(geo, worlds: int, per_world: int, random_camera: bool, cache: str = '') -> list[dict]:
    """The held-out sequences (rendered, or read from ``cache``/*.npz when present)."""
    name = f'heldout_{int(random_camera)}_{worlds}x{per_world}.npz'
    path = Path(cache) / name if cache else None
    if path is not None and path.exists():
        with np.load(path) as z:
            return [{k: z[k][i] for k in z.files} for i in range(len(z['sat']))]
    cfg = GeoStreamConfig(sequences_per_world=per_world, random_camera=random_camera)
    out = []
    for w in range(worlds):
        seed = SEED_START + w + (500 if random_camera else 0)
        ws = WorldSequences(seed, cfg, geo)
        rng = np.random.default_rng([seed, 77])
        out.extend(ws.sample(i, rng) for i in range(per_world))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **{k: np.stack([s[k] for s in out]) for k in out[0]})
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument('--tam', default='models/small_geo.pt')
    ap.add_argument('--baseline', default='models/small_geo_baseline.pt')
    ap.add_argument('--worlds', type=int, default=8)
    ap.add_argument('--per-world', type=int, default=8)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--cache', default='.cache/geo_heldout', help="'' = always render")
    ap.add_argument('--render-only', action='store_true')
    args = ap.parse_args()
    if args.render_only:
        from cvseq_localizer.model.geo_config import GeoConfig

        for rand in (False, True):
            samples(GeoConfig(), args.worlds, args.per_world, rand, args.cache)
        return
    torch.set_num_threads(args.threads)
    tam, _ = load_geo_checkpoint(args.tam)
    base, _ = load_geo_checkpoint(args.baseline, temporal=False)
    ref = GeoLocNet(base.config).eval()
    ref.load_state_dict(base.state_dict())
    with torch.no_grad():
        ref.channel_weight[:-1] = 0.0  # masked NCC of the grayscale channel only
        for head in (ref.location_head, ref.coordinator_head):
            for p in head.layers[-1].parameters():
                p.zero_()
    res: dict[str, float] = {}
    for name, rand in (('', False), ('random_cam_', True)):
        val = samples(tam.config, args.worlds, args.per_world, rand, args.cache)
        m_tam, m_base, m_ref = evaluate(tam, val), evaluate(base, val), evaluate(ref, val)
        res[f'{name}network_median_m'] = m_tam['first_median_m']
        res[f'{name}network_within_4m'] = m_tam['first_within4']
        res[f'{name}baseline_median_m'] = m_base['first_median_m']
        res[f'{name}baseline_within_4m'] = m_base['first_within4']
        res[f'{name}geometric_median_m'] = m_ref['first_median_m']
        res[f'{name}geometric_within_4m'] = m_ref['first_within4']
        res[f'{name}tam_seq_mean_m'] = m_tam['seq_mean_m']
        res[f'{name}baseline_seq_mean_m'] = m_base['seq_mean_m']
        res[f'{name}tam_last_median_m'] = m_tam['last_median_m']
        res[f'{name}heading_median_deg'] = m_tam['heading_median_deg']
        res[f'{name}frames'] = float(len(val) * val[0]['bev'].shape[0])
        print(name or 'default_cam', json.dumps({k: v for k, v in res.items()}, indent=1))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=1))


if __name__ == '__main__':
    main()
