"""CrossViewSeqNet: shapes, step/forward equivalence, t=0 semantics, masks, determinism."""

from pathlib import Path

import pytest
import torch

from cvseq_localizer.model import HiddenState, ModelConfig, build_model

TABLE = Path(__file__).parent / 'data' / 'authors_state_dict.txt'


@pytest.mark.parametrize('preset', ['tiny', 'small'])
def test_step_and_forward_shapes(preset, make_inputs):
    torch.manual_seed(0)
    cfg = ModelConfig.preset(preset)
    model = build_model(cfg).eval()
    ground, sat = make_inputs(cfg, batch=1, frames=2)
    n2, d = cfg.num_cells, cfg.feature_dim
    with torch.inference_mode():
        feats = model.encode_satellite(sat)
        assert feats.tokens.shape == (1, n2, d) and feats.pos.shape == (1, n2, d)
        out = model.step(ground[:, 0], feats, None)
        logits, offsets = model(ground, sat)
    assert out.logits.shape == (1, n2) and out.offsets.shape == (1, n2, 2)
    assert out.hidden.state.shape == (1, n2, d) and bool(out.hidden.valid.all())
    assert logits.shape == (1, 2, n2) and offsets.shape == (1, 2, n2, 2)
    assert float(offsets.min()) >= 0.0 and float(offsets.max()) < 1.0


def _authors_param_count() -> int:
    total = 0
    for line in TABLE.read_text().splitlines():
        if line.startswith('#') or 'running_' in line or 'num_batches' in line:
            continue
        shape = line.split(' ', 1)[1].strip('()').split(',')
        count = 1
        for s in shape:
            count *= int(s) if s.strip() else 1
        total += count
    return total


def test_paper_preset_matches_authors_parameter_count():
    model = build_model(ModelConfig.preset('paper'))
    assert model.sat_backbone.out_channels == 1024
    assert model.ground_pos.shape == (1, 33 * 60, 256)  # 260x480 ground -> 33x60 tokens
    assert model.sat_pos.shape == (1, 32 * 32, 256)
    assert sum(p.numel() for p in model.parameters()) == _authors_param_count()
    assert model.sat_backbone.layer3[0].conv2.dilation == (2, 2)
    assert model.sat_backbone.layer3[1].conv2.dilation == (1, 1)


def test_forward_equals_step_by_step(tiny_model, tiny_config, make_inputs):
    ground, sat = make_inputs(tiny_config, batch=2, frames=4)
    with torch.inference_mode():
        logits, offsets = tiny_model(ground, sat)
        feats = tiny_model.encode_satellite(sat)
        hidden = None
        for t in range(4):
            out = tiny_model.step(ground[:, t], feats, hidden)
            hidden = out.hidden
            torch.testing.assert_close(out.logits, logits[:, t], rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(out.offsets, offsets[:, t], rtol=1e-4, atol=1e-5)


def test_first_step_is_fusion_feature_and_later_steps_use_tam(
    tiny_model, tiny_config, make_inputs
):
    ground, sat = make_inputs(tiny_config, batch=1, frames=2)
    with torch.inference_mode():
        feats = tiny_model.encode_satellite(sat)
        fused0 = tiny_model.fuse(feats.tokens, tiny_model.encode_ground(ground[:, 0]))
        out0 = tiny_model.step(ground[:, 0], feats, None)
        torch.testing.assert_close(out0.hidden.state, fused0)  # h^0 = F_f^0
        logits0, _ = tiny_model.heads(fused0)
        torch.testing.assert_close(out0.logits, logits0)
        # An all-invalid state with garbage content is the same as None.
        junk = HiddenState(torch.randn_like(fused0), torch.zeros(1, fused0.shape[1], dtype=bool))
        torch.testing.assert_close(tiny_model.step(ground[:, 0], feats, junk).logits, logits0)
        # t = 1: h^1 = TAM(F_f^1, h^0), not F_f^1.
        fused1 = tiny_model.fuse(feats.tokens, tiny_model.encode_ground(ground[:, 1]))
        out1 = tiny_model.step(ground[:, 1], feats, out0.hidden)
        expected = tiny_model.temporal(fused1, hidden=fused0, pos=feats.pos)
        torch.testing.assert_close(out1.hidden.state, expected)
        assert not torch.allclose(out1.hidden.state, fused1, atol=1e-3)


def test_invalid_cells_take_current_fusion_feature(tiny_model, tiny_config, make_inputs):
    ground, sat = make_inputs(tiny_config, batch=1, frames=2)
    n2, d = tiny_config.num_cells, tiny_config.feature_dim
    with torch.inference_mode():
        feats = tiny_model.encode_satellite(sat)
        h0 = tiny_model.step(ground[:, 0], feats, None).hidden
        valid = torch.ones(1, n2, dtype=torch.bool)
        valid[0, : n2 // 2] = False
        a = tiny_model.step(ground[:, 1], feats, HiddenState(h0.state, valid))
        state = h0.state.clone()
        state[0, : n2 // 2] = torch.randn(n2 // 2, d)  # content of invalid cells is ignored
        b = tiny_model.step(ground[:, 1], feats, HiddenState(state, valid))
        c = tiny_model.step(ground[:, 1], feats, HiddenState(state, torch.ones_like(valid)))
    torch.testing.assert_close(a.logits, b.logits)
    assert not torch.allclose(a.logits, c.logits, atol=1e-4)


def test_batch_items_are_independent(tiny_model, tiny_config, make_inputs):
    """Item 0 starts (no valid cell) while item 1 continues: each gets its own rule."""
    ground, sat = make_inputs(tiny_config, batch=2, frames=2)
    with torch.inference_mode():
        feats = tiny_model.encode_satellite(sat)
        h = tiny_model.step(ground[:, 0], feats, None).hidden
        valid = h.valid.clone()
        valid[0] = False
        both = tiny_model.step(ground[:, 1], feats, HiddenState(h.state, valid))
        feats1 = feats._replace(tokens=feats.tokens[1:])
        alone = tiny_model.step(ground[1:, 1], feats1, HiddenState(h.state[1:], h.valid[1:]))
        fresh = tiny_model.step(ground[:1, 1], feats._replace(tokens=feats.tokens[:1]), None)
    torch.testing.assert_close(both.logits[1:], alone.logits, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(both.logits[:1], fresh.logits, rtol=1e-4, atol=1e-5)


def test_eval_mode_is_deterministic_and_train_mode_uses_dropout(tiny_config, make_inputs):
    torch.manual_seed(1)
    model = build_model(tiny_config)
    ground, sat = make_inputs(tiny_config, batch=1, frames=2)
    model.eval()
    with torch.no_grad():
        a, b = model(ground, sat)[0], model(ground, sat)[0]
    assert torch.equal(a, b)
    model.train()
    with torch.no_grad():
        c, d = model(ground, sat)[0], model(ground, sat)[0]
    assert not torch.equal(c, d)


def test_baseline_mode_has_no_tam_and_ignores_history(make_inputs):
    torch.manual_seed(0)
    cfg = ModelConfig.preset('tiny', temporal=False)
    model = build_model(cfg).eval()
    assert model.temporal is None
    assert not any(k.startswith('temporal.') for k in model.state_dict())
    ground, sat = make_inputs(cfg, batch=1, frames=3)
    with torch.inference_mode():
        logits, _ = model(ground, sat)
        feats = model.encode_satellite(sat)
        single = model.step(ground[:, 2], feats, None).logits
    torch.testing.assert_close(logits[:, 2], single, rtol=1e-4, atol=1e-5)


def test_bad_inputs_raise_naming_the_shape(tiny_model, tiny_config, make_inputs):
    ground, sat = make_inputs(tiny_config, batch=1, frames=1)
    with pytest.raises(ValueError, match='satellite image must be'):
        tiny_model.encode_satellite(sat[:, :, :32])
    feats = tiny_model.encode_satellite(sat)
    with pytest.raises(ValueError, match=r'ground image must be \[B, 3, 32, 64\]'):
        tiny_model.step(ground[:, 0, :, :16], feats, None)
    bad = HiddenState(torch.zeros(1, 3, tiny_config.feature_dim), torch.zeros(1, 3, dtype=bool))
    with pytest.raises(ValueError, match='hidden state'):
        tiny_model.step(ground[:, 0], feats, bad)
    with pytest.raises(ValueError, match='ground_seq'):
        tiny_model(ground[:, 0], sat)


def test_kitti_preset_ground_tokens():
    cfg = ModelConfig.preset('paper_kitti')
    assert build_model(cfg).ground_pos.shape == (1, 19 * 60, 256)  # 145x480 -> 19x60


def test_config_validation_and_dict_round_trip():
    cfg = ModelConfig.preset('small', dropout=0.0)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match='unknown model preset'):
        ModelConfig.preset('huge')
    with pytest.raises(ValueError, match='feature_dim 30'):
        ModelConfig.preset('tiny', feature_dim=30)
    with pytest.raises(ValueError, match='smaller than grid_size'):
        ModelConfig.preset('tiny', grid_size=16)
