import numpy as np
import pytest
import torch

from cvseq_localizer.model.config import ModelConfig
from cvseq_localizer.model.net import build_model
from cvseq_localizer.runtime.engine import InferenceEngine
from cvseq_localizer.runtime.preprocess import resize_cover_crop
from cvseq_localizer.runtime.torch_engine import TorchEngine


@pytest.fixture(scope='module')
def engine():
    torch.manual_seed(0)
    return TorchEngine(build_model(ModelConfig.preset('tiny')))


def test_engine_runs_raw_images_and_keeps_state(engine):
    assert isinstance(engine, InferenceEngine)
    rng = np.random.default_rng(0)
    tile = rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)
    feats = engine.encode_satellite(tile)
    frame = rng.integers(0, 255, (120, 400, 3), dtype=np.uint8)
    first = engine.step(frame, feats, None)
    n = engine.grid_n
    assert first.prob.shape == (n, n) and first.offsets.shape == (n, n, 2)
    assert first.prob.sum() == pytest.approx(1.0)
    assert np.all((first.offsets >= 0) & (first.offsets <= 1))
    second = engine.step(frame, feats, first.hidden)
    # With the temporal module the same frame gives a different answer once a state exists.
    assert not np.allclose(first.prob, second.prob)
    # The tile centre moves one cell south: the southmost row enters the grid and is invalid.
    shifted = engine.shift_hidden(second.hidden, 1, 0)
    assert not bool(shifted.valid[0, -n:].any()) and bool(shifted.valid[0, :-n].all())


def test_engine_rejects_bad_images(engine):
    with pytest.raises(ValueError, match='uint8'):
        engine.encode_satellite(np.zeros((64, 64, 3), np.float32))
    with pytest.raises(ValueError, match='HxWx3'):
        engine.step(np.zeros((64, 64), np.uint8), None, None)


def test_cuda_request_without_cuda_is_clear():
    if torch.cuda.is_available():
        pytest.skip('this machine has CUDA; the error path needs a CPU-only torch')
    with pytest.raises(RuntimeError, match='no usable CUDA'):
        TorchEngine(build_model(ModelConfig.preset('tiny')), device='cuda')


def test_resize_cover_crop_keeps_centre():
    img = np.zeros((100, 300, 3), np.uint8)
    img[:, 140:160] = 255  # a vertical bar in the centre
    out = resize_cover_crop(img, 50, 100)
    assert out.shape == (50, 100, 3)
    cols = np.where(out[25, :, 0] > 128)[0]
    assert abs(cols.mean() - 49.5) < 2
