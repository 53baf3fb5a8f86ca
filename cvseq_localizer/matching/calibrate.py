"""Fit the geometric matcher's likelihood temperature on development frames.

Run: ``python -m cvseq_localizer.matching.calibrate [--seeds 10] [--frames 10]``. It renders
``frame_eval.DEV_SEEDS`` worlds (never the benchmark's), runs the matcher once per frame and picks
the temperature that minimises the mean negative log probability of the true grid cell (the
quantity the filter consumes), printing the table. Copy the result into
``geometric.DEFAULT_TEMPERATURE``.
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np

from cvseq_localizer.data.sample import grid_labels
from cvseq_localizer.matching.frame_eval import DEV_SEEDS, EvalFrame, make_eval_frames, run_frame
from cvseq_localizer.matching.geometric import GeometricMatcher
from cvseq_localizer.sim.camera import PinholeCamera

TEMPERATURES = tuple(float(t) for t in np.geomspace(0.003, 0.3, 25))


def cell_nll(
    matcher: GeometricMatcher, frames: list[EvalFrame], temperatures=TEMPERATURES
) -> dict[float, float]:
    """Mean ``-log prob[true cell]`` for each temperature (one matching pass per frame)."""
    totals = dict.fromkeys(temperatures, 0.0)
    for f in frames:
        out, _ = run_frame(matcher, f)
        cell, _ = grid_labels(f.true_uv_px, matcher.sat_size, matcher.grid_n)
        for t in temperatures:
            if out.scores is None:
                p = 1.0 / matcher.grid_n**2
            else:
                post = matcher.posterior(out.scores, out.heading.candidates_rad,
                                         f.yaw_prior_rad, f.heading_sigma_rad, t)  # fmt: skip
                p = float(post.prob.reshape(-1)[int(cell)])
            totals[t] += -math.log(max(p, 1e-300)) / len(frames)
    return totals


def fit_temperature(matcher: GeometricMatcher, frames: list[EvalFrame]) -> tuple[float, dict]:
    """``(best temperature, {temperature: mean NLL})``."""
    table = cell_nll(matcher, frames)
    return min(table, key=table.get), table


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--seeds', type=int, default=10)
    p.add_argument('--frames', type=int, default=10)
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    frames = make_eval_frames(list(DEV_SEEDS)[: args.seeds], args.frames, PinholeCamera(), rng)
    best, table = fit_temperature(GeometricMatcher(), frames)
    print(json.dumps({'best_temperature': best, 'nll': table}, indent=1))


if __name__ == '__main__':
    main()
