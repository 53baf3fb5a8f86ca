import math

import numpy as np
import pytest

from cvseq_localizer.data.sample import grid_labels
from cvseq_localizer.matching.frame_eval import BENCH_SEEDS, DEV_SEEDS, evaluate_engine
from cvseq_localizer.runtime.engine import EngineOutput
from cvseq_localizer.runtime.heading import HeadingEvidence


class Oracle:
    """Puts all mass on the true cell and offset (knows the frames it will see)."""

    grid_n = 16
    needs_camera = True

    def __init__(self, frames, shift_px=0.0):
        self.truth = {id(f.tile.image): f.true_uv_px + shift_px for f in frames}

    def encode_satellite(self, tile_rgb):
        return self.truth[id(tile_rgb)]

    def step(self, ground_rgb, uv, hidden, *, camera, yaw_prior_rad, yaw_prior_std_rad=None):
        n = self.grid_n
        cell, off = grid_labels(np.clip(uv, 0, 127.99), 128, n)
        prob = np.zeros((n, n))
        prob.flat[int(cell)] = 1.0
        offsets = np.full((n, n, 2), 0.5)
        offsets.reshape(-1, 2)[int(cell)] = off
        return EngineOutput(prob, offsets, None)


def test_seed_ranges_do_not_overlap():
    assert not set(BENCH_SEEDS) & set(DEV_SEEDS)
    assert len(BENCH_SEEDS) == len(DEV_SEEDS) == 100


def test_frames_are_labelled_consistently(dev_frames):
    for f in dev_frames:
        u, v = f.true_uv_px
        e, n = f.tile.pixel_to_enu(u, v, f.local_frame)
        assert math.hypot(e - f.true_xy_enu_m[0], n - f.true_xy_enu_m[1]) < 0.05
        assert 0 <= u < 128 and 0 <= v < 128
        assert f.ground_rgb.shape == (f.camera.height_px, f.camera.width_px, 3)
    d = np.array([f.yaw_prior_rad - f.true_yaw_rad for f in dev_frames])
    errs = np.degrees(np.abs(np.angle(np.exp(1j * d))))
    assert 2.0 < np.mean(errs) < 15.0  # |N(0, 8 deg)| has mean 6.4 deg
    assert all(-math.pi <= f.true_yaw_rad <= math.pi for f in dev_frames)


def test_evaluate_engine_scores_an_oracle_at_zero_and_a_shift_at_its_size(dev_frames):
    exact = evaluate_engine(Oracle(dev_frames), dev_frames)
    assert exact['median_m'] < 0.05 and exact['within_1m'] == 1.0
    assert exact['n_frames'] == len(dev_frames)
    # Without heading output the heading error is the prior's.
    assert exact['heading_err_median_deg'] == exact['prior_heading_err_median_deg']
    shifted = evaluate_engine(Oracle(dev_frames, shift_px=np.array([6.0, 0.0])), dev_frames)
    mpp = 64.0 / 128
    kept = shifted['median_m']  # frames near the east edge clip, the rest are 6 px off
    assert kept == pytest.approx(6 * mpp, abs=0.1)


class PlainOracle(Oracle):
    """A perspective engine: the plain protocol step, no camera keywords."""

    needs_camera = False

    def step(self, ground_rgb, uv, hidden):
        return super().step(ground_rgb, uv, hidden, camera=None, yaw_prior_rad=0.0)


def test_evaluate_engine_runs_plain_protocol_engines(dev_frames):
    assert evaluate_engine(PlainOracle(dev_frames), dev_frames)['median_m'] < 0.05


def test_heading_evidence_uninformative():
    h = HeadingEvidence.uninformative(0.5, np.linspace(0.2, 0.8, 7))
    assert not h.informative and h.prob.sum() == pytest.approx(1.0) and h.yaw_rad == 0.5
