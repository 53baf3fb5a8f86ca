"""GeoEngine: raw images + camera + heading prior in, grid + heading evidence out; bad cameras."""

import math

import numpy as np
import pytest
import torch

from cvseq_localizer.data.geo_stream import GeoStreamConfig
from cvseq_localizer.geo.camera import CameraModel, CameraMount
from cvseq_localizer.model.geo_checkpoint import save_geo_checkpoint
from cvseq_localizer.model.geo_config import GeoConfig
from cvseq_localizer.model.geometric import GeoLocNet
from cvseq_localizer.runtime.geo_engine import heading_evidence, load_geo_engine
from cvseq_localizer.runtime.heading import HeadingEvidence
from cvseq_localizer.train.geo_trainer import checkpoint_extra


@pytest.fixture(scope='module')
def engine(tmp_path_factory):
    torch.manual_seed(0)
    cfg = GeoConfig.preset('geo_small')
    path = tmp_path_factory.mktemp('geo') / 'g.pt'
    save_geo_checkpoint(GeoLocNet(cfg), path, checkpoint_extra(cfg, GeoStreamConfig()))
    return load_geo_engine(path)


def _camera(**mount):
    return CameraModel.from_hfov(320, 96, 90.0, CameraMount(z_m=1.6, pitch_rad=0.05, **mount))


def test_step_outputs_grid_and_heading(engine):
    rng = np.random.default_rng(0)
    feats = engine.encode_satellite(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8))
    frame = rng.integers(0, 255, (96, 320, 3), dtype=np.uint8)
    out = engine.step(frame, feats, None, camera=_camera(), yaw_prior_rad=3.1)
    n = engine.grid_n
    assert engine.needs_camera and engine.sat_ground_m == 64.0 and engine.offset_sigma_m == 8.0
    assert out.prob.shape == (n, n) and out.prob.sum() == pytest.approx(1.0)
    assert out.offsets.shape == (n, n, 2) and np.all((out.offsets > 0) & (out.offsets < 1))
    h = out.heading
    assert isinstance(h, HeadingEvidence) and h.informative
    assert h.prob.sum() == pytest.approx(1.0) and len(h.candidates_rad) == len(h.prob)
    assert abs(math.remainder(h.yaw_rad - 3.1, 2 * math.pi)) <= math.radians(15.5)
    # A half-size image of the same aspect works (the camera is scaled); another aspect fails.
    small = engine.step(frame[::2, ::2].copy(), feats, out.hidden, camera=_camera(),
                        yaw_prior_rad=3.1)  # fmt: skip
    assert np.isfinite(small.prob).all()
    with pytest.raises(ValueError, match='aspect'):
        engine.step(frame[:, :200].copy(), feats, None, camera=_camera(), yaw_prior_rad=0.0)
    shifted = engine.shift_hidden(small.hidden, 1, -2)
    assert not shifted.valid.view(n, n)[-1].any() and shifted.valid.view(n, n)[0, 2:].all()


def test_camera_that_cannot_see_the_ground_is_an_error(engine):
    rng = np.random.default_rng(1)
    feats = engine.encode_satellite(rng.integers(0, 255, (128, 128, 3), dtype=np.uint8))
    frame = rng.integers(0, 255, (96, 320, 3), dtype=np.uint8)
    up = CameraModel.from_hfov(320, 96, 60.0, CameraMount(pitch_rad=-0.6))
    with pytest.raises(ValueError, match='ground'):
        engine.step(frame, feats, None, camera=up, yaw_prior_rad=0.0)
    far = _camera()
    far = CameraModel.from_hfov(320, 96, 170.0, far.mount)
    assert any('hfov' in s for s in engine.check_camera(far))
    assert engine.check_camera(_camera()) == []


def test_heading_evidence_mean_and_variance():
    deltas = np.radians(np.arange(-15, 16, 3.0))
    prob = np.zeros(len(deltas))
    prob[7] = 1.0  # +6 deg
    ev = heading_evidence(math.pi - 0.05, deltas, prob)
    want = math.remainder(math.pi - 0.05 + math.radians(6), 2 * math.pi)
    assert ev.yaw_rad == pytest.approx(want)
    assert ev.yaw_var_rad2 == pytest.approx(math.radians(3) ** 2 / 12)
    prob[8] = 1.0  # +6 and +9 deg equally
    ev = heading_evidence(0.0, deltas, prob)
    assert ev.yaw_rad == pytest.approx(math.radians(7.5), abs=1e-3)
    assert ev.yaw_var_rad2 > math.radians(1.5) ** 2
    assert not heading_evidence(0.0, deltas, np.zeros(len(deltas))).informative
