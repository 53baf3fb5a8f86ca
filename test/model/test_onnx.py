"""The tiny step exports to ONNX with the hidden state as explicit inputs/outputs."""

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from cvseq_localizer.model import HiddenState


class _Step(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, ground, sat_tokens, state, valid):
        return self.model.step_tensors(ground, sat_tokens, state, valid)


def test_tiny_step_exports_and_matches_eager(tmp_path, tiny_model, tiny_config, make_inputs):
    ground, sat = make_inputs(tiny_config, batch=1, frames=2)
    with torch.no_grad():
        feats = tiny_model.encode_satellite(sat)
        h0 = tiny_model.step(ground[:, 0], feats, None).hidden
        valid = h0.valid.clone()
        valid[0, :5] = False  # a partly valid state exercises both where() branches
        args = (ground[:, 1], feats.tokens, h0.state, valid)
        path = tmp_path / 'step.onnx'
        torch.onnx.export(
            _Step(tiny_model).eval(),  # export restores this mode on the whole tree
            args,
            str(path),
            input_names=['ground', 'sat_tokens', 'state', 'valid'],
            output_names=['logits', 'offsets', 'new_state', 'new_valid'],
            dynamo=False,
        )
        eager = tiny_model.step(ground[:, 1], feats, HiddenState(h0.state, valid))
    sess = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    names = ['ground', 'sat_tokens', 'state', 'valid']
    logits, offsets, state, new_valid = sess.run(
        None, {n: np.ascontiguousarray(a.numpy()) for n, a in zip(names, args, strict=True)}
    )
    np.testing.assert_allclose(logits, eager.logits.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(offsets, eager.offsets.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(state, eager.hidden.state.numpy(), rtol=1e-4, atol=1e-4)
    assert new_valid.dtype == np.bool_ and new_valid.all()
