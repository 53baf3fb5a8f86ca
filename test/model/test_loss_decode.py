"""``sequence_loss`` against a direct computation; ``decode`` pixel convention."""

import math

import pytest
import torch

from cvseq_localizer.model import decode, sequence_loss


def _batch(seed: int = 0, b: int = 2, t: int = 3, n: int = 4):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(b, t, n * n, generator=gen)
    offsets = torch.rand(b, t, n * n, 2, generator=gen)
    cell = torch.randint(0, n * n, (b, t), generator=gen)
    target = torch.rand(b, t, 2, generator=gen)
    return logits, offsets, cell, target


def test_loss_equals_direct_sum_over_frames():
    logits, offsets, cell, target = _batch()
    parts = sequence_loss(logits, offsets, cell, target, cls_weight=1.0, mse_weight=2.0)
    ce, se = 0.0, 0.0
    for i in range(2):
        for j in range(3):
            k = int(cell[i, j])
            ce -= float(torch.log_softmax(logits[i, j], dim=0)[k])
            se += float(((offsets[i, j, k] - target[i, j]) ** 2).sum())
    assert math.isclose(float(parts.cls), ce / 6, rel_tol=1e-5)
    assert math.isclose(float(parts.mse), se / 12, rel_tol=1e-5)
    assert math.isclose(float(parts.total), ce / 6 + 2 * se / 12, rel_tol=1e-5)


def test_perfect_prediction_has_near_zero_loss_and_gradients_flow():
    logits, offsets, cell, target = _batch(1)
    logits = logits.clone().requires_grad_()
    perfect = torch.full_like(logits, -30.0).scatter(2, cell[..., None], 30.0)
    good = offsets.clone().scatter(2, cell[..., None, None].expand(2, 3, 1, 2), target[:, :, None])
    parts = sequence_loss(perfect, good, cell, target)
    assert float(parts.total) < 1e-6
    sequence_loss(logits, offsets, cell, target).total.backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0


def test_loss_rejects_bad_targets():
    logits, offsets, cell, target = _batch()
    with pytest.raises(ValueError, match='target_cell values'):
        sequence_loss(logits, offsets, cell + 16, target)
    with pytest.raises(ValueError, match='target_offset'):
        sequence_loss(logits, offsets, cell, target[..., :1])


def test_decode_uses_row_col_offsets_and_corner_based_pixels():
    n, cell_px = 8, 32.0
    logits = torch.zeros(1, n * n)
    logits[0, 2 * n + 5] = 10.0  # row 2, col 5
    offsets = torch.zeros(1, n * n, 2)
    offsets[0, 2 * n + 5] = torch.tensor([0.25, 0.75])  # (row, col)
    out = decode(logits, offsets, cell_px)
    assert out.cell.tolist() == [2 * n + 5]
    assert out.xy_px.tolist() == [[(5 + 0.75) * cell_px, (2 + 0.25) * cell_px]]
    assert out.prob.shape == (1, n, n) and int(out.prob[0].argmax()) == 2 * n + 5
    assert math.isclose(float(out.prob.sum()), 1.0, rel_tol=1e-6)
    assert out.cell_xy_px[0, 7, 1].tolist() == [1 * cell_px, 7 * cell_px]  # zero offset: corner


def test_model_decode_uses_the_config_cell_size(tiny_model, tiny_config, make_inputs):
    ground, sat = make_inputs(tiny_config, batch=1, frames=2)
    with torch.inference_mode():
        logits, offsets = tiny_model(ground, sat)
        out = tiny_model.decode(logits, offsets)
    assert out.xy_px.shape == (1, 2, 2) and out.prob.shape == (1, 2, 8, 8)
    assert float(out.xy_px.min()) >= 0 and float(out.xy_px.max()) < tiny_config.sat_size
