"""OrtEngine against TorchEngine: same probabilities, offsets and hidden states over a sequence."""

import logging

import numpy as np
import onnxruntime as ort
import pytest
import torch

from cvseq_localizer.model.config import ModelConfig
from cvseq_localizer.model.net import build_model
from cvseq_localizer.model.state import HiddenState, shift_hidden
from cvseq_localizer.runtime.engine import InferenceEngine
from cvseq_localizer.runtime.export import export_model
from cvseq_localizer.runtime.onnx_engine import (
    CPU,
    CUDA,
    TENSORRT,
    OrtEngine,
    select_providers,
    session_options,
    shift_hidden_np,
)
from cvseq_localizer.runtime.torch_engine import TorchEngine

# fp32 kernels differ between torch and ONNX Runtime (summation order, fused ops): observed
# differences are ~1e-6; 1e-4 leaves room for other CPUs without hiding a wrong graph.
ATOL = 1e-4


def _engines(preset: str, tmp_path_factory, exporter: str | None = None, temporal: bool = True):
    torch.manual_seed(0)
    model = build_model(ModelConfig.preset(preset, temporal=temporal)).eval()
    out = tmp_path_factory.mktemp(f'{preset}_export')
    export_model(model, out, extra={'sat_ground_m': 0.3}, exporter=exporter)
    return TorchEngine(model), OrtEngine(out)


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    return _engines('tiny', tmp_path_factory)


def _run_sequence(engine, frames, tile, shift_after: int, shift: tuple[int, int]):
    """Encode the tile, step through ``frames``; shift the hidden state after one frame."""
    feats = engine.encode_satellite(tile)
    hidden, outs, hiddens = None, [], []
    for i, frame in enumerate(frames):
        out = engine.step(frame, feats, hidden)
        hidden = out.hidden
        if i == shift_after:
            hidden = engine.shift_hidden(hidden, *shift)
        outs.append(out)
        hiddens.append(hidden)
    return outs, hiddens


def _as_numpy(hidden):
    if isinstance(hidden, HiddenState):
        return hidden.state.numpy(), hidden.valid.numpy()
    return hidden.numpy()


def _check_parity(torch_engine, ort_engine, seed: int = 0):
    rng = np.random.default_rng(seed)
    tile = rng.integers(0, 256, (300, 300, 3), dtype=np.uint8)
    frames = [rng.integers(0, 256, (240, 640, 3), dtype=np.uint8) for _ in range(4)]
    ref, ref_h = _run_sequence(torch_engine, frames, tile, shift_after=1, shift=(1, -2))
    got, got_h = _run_sequence(ort_engine, frames, tile, shift_after=1, shift=(1, -2))
    for a, b, ha, hb in zip(ref, got, ref_h, got_h):
        assert b.prob.dtype == np.float64 and b.prob.shape == a.prob.shape
        np.testing.assert_allclose(b.prob, a.prob, atol=ATOL, rtol=1e-3)
        np.testing.assert_allclose(b.offsets, a.offsets, atol=ATOL)
        assert np.argmax(b.prob) == np.argmax(a.prob)
        (sa, va), (sb, vb) = _as_numpy(ha), _as_numpy(hb)
        np.testing.assert_array_equal(vb, va)
        np.testing.assert_allclose(sb, sa, atol=ATOL)
    # The shift really invalidated the southmost row and the two westmost columns.
    valid = _as_numpy(got_h[1])[1].reshape(ort_engine.grid_n, ort_engine.grid_n)
    assert not valid[-1].any() and not valid[:, :2].any() and valid[:-1, 2:].all()


def test_ort_engine_matches_torch_tiny(tiny):
    torch_engine, ort_engine = tiny
    assert isinstance(ort_engine, InferenceEngine)
    for attr in ('grid_n', 'temporal', 'sat_size', 'config'):
        assert getattr(ort_engine, attr) == getattr(torch_engine, attr)
    assert ort_engine.metadata == {'sat_ground_m': 0.3}
    _check_parity(torch_engine, ort_engine)


def test_ort_engine_matches_torch_small(tmp_path_factory):
    _check_parity(*_engines('small', tmp_path_factory), seed=1)


def test_torchscript_exporter_and_baseline_mode_match_torch(tmp_path_factory):
    # The legacy exporter (used when onnxscript is missing) on the single-image baseline.
    _check_parity(*_engines('tiny', tmp_path_factory, 'torchscript', temporal=False), seed=2)


@pytest.mark.parametrize('shift', [(0, 0), (1, 0), (-2, 3), (7, -7), (8, 0), (0, -9)])
def test_numpy_shift_matches_model_shift(shift):
    rng = np.random.default_rng(3)
    state = rng.standard_normal((1, 64, 5)).astype(np.float32)
    valid = rng.random((1, 64)) > 0.3
    ref = shift_hidden(HiddenState(torch.from_numpy(state), torch.from_numpy(valid)), *shift)
    got_state, got_valid = shift_hidden_np(state, valid, *shift)
    np.testing.assert_array_equal(got_state, ref.state.numpy())
    np.testing.assert_array_equal(got_valid, ref.valid.numpy())
    with pytest.raises(ValueError, match='whole cells'):
        shift_hidden_np(state, valid, 0.5, 0)


def test_cuda_request_falls_back_to_cpu_with_logged_reason(tiny, caplog):
    if CUDA in ort.get_available_providers():
        pytest.skip('this onnxruntime has the CUDA provider; the fallback needs a CPU-only one')
    export_dir = tiny[1].export_dir
    with caplog.at_level(logging.WARNING, logger='cvseq_localizer.runtime.onnx_engine'):
        engine = OrtEngine(export_dir, providers=['cuda'])
    assert engine.providers == [CPU]
    assert any(
        CUDA in r.getMessage() and 'not available' in r.getMessage() for r in caplog.records
    )
    with caplog.at_level(logging.WARNING, logger='cvseq_localizer.runtime.onnx_engine'):
        caplog.clear()
        assert OrtEngine(export_dir, device='cuda').providers == [CPU]
    assert any('falling back' in r.getMessage() for r in caplog.records)


def test_providers_are_ordered_by_preference():
    everything = [CPU, CUDA, TENSORRT]
    assert select_providers(['cpu', 'cuda', 'tensorrt'], available=everything) == everything[::-1]
    assert select_providers(None, 'cuda:1', available=[CUDA, CPU]) == [CUDA, CPU]
    assert select_providers(None, 'cpu', available=everything) == [CPU]
    assert select_providers(['trt'], available=[CPU]) == [CPU]
    with pytest.raises(ValueError, match='unsupported'):
        select_providers(['OpenVINOExecutionProvider'], available=[CPU])


def test_session_options_threads_and_spinning():
    opts = session_options(3)
    assert opts.intra_op_num_threads == 3
    assert opts.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert opts.get_session_config_entry('session.intra_op.allow_spinning') == '0'
    spin = session_options(2, spinning=True)
    assert spin.get_session_config_entry('session.intra_op.allow_spinning') == '1'
