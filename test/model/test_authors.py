"""Import of the authors' checkpoints, from a state dict generated from their key table."""

from pathlib import Path

import pytest
import torch

from cvseq_localizer.model import CheckpointError, ModelConfig, import_authors_checkpoint
from cvseq_localizer.model.authors import map_authors_key

TABLE = Path(__file__).parent / 'data' / 'authors_state_dict.txt'


def _authors_state_dict(with_temporal: bool = True) -> dict[str, torch.Tensor]:
    """Random tensors with the exact key names and shapes of the authors' released model."""
    gen = torch.Generator().manual_seed(0)
    sd = {}
    for line in TABLE.read_text().splitlines():
        if line.startswith('#') or not line.strip():
            continue
        key, shape_txt = line.split(' ', 1)
        shape = tuple(int(s) for s in shape_txt.strip('()').split(',') if s.strip())
        if key.endswith('num_batches_tracked'):
            sd[key] = torch.tensor(100)
        elif key.endswith('running_var'):
            sd[key] = torch.rand(shape, generator=gen) + 0.5
        else:
            sd[key] = torch.randn(shape, generator=gen) * 0.05
    if not with_temporal:
        sd = {k: v for k, v in sd.items() if not k.startswith('temporal_attn.')}
    return sd


def test_every_key_is_consumed_and_the_model_runs(tmp_path):
    sd = _authors_state_dict()
    assert len(sd) == 702
    path = tmp_path / 'CVSeqLocation.pth'
    torch.save({'state_dict': sd, 'optimizer': {'state': {}, 'param_groups': []}}, path)
    model, report = import_authors_checkpoint(path)
    assert model.config.temporal is False and model.config.grid_size == 32
    temporal_keys = sorted(k for k in sd if k.startswith('temporal_attn.'))
    assert report.not_imported == temporal_keys and len(temporal_keys) == 12
    assert len(report.imported) == len(sd) - 12 == len(model.state_dict())
    own = model.state_dict()
    for key, value in sd.items():
        ours = map_authors_key(key)
        if ours is not None:
            assert torch.equal(own[ours], value), key
    assert torch.equal(
        own['fusion.layers.2.ffn_ground.norm.weight'],
        sd['feature_fusion_network.encoder.layers.2.ca_norm2_2.weight'],
    )
    ground = torch.randn(1, 3, 260, 480)[..., :64, :96]
    sat = torch.randn(1, 3, 256, 256)
    small = ModelConfig.preset('paper', temporal=False, sat_pool='max', ground_size=(64, 96))
    model, _ = import_authors_checkpoint(path, config=small)
    with torch.inference_mode():
        logits, offsets = model(ground[:, None], sat)
    assert logits.shape == (1, 1, 1024) and torch.isfinite(logits).all()
    assert offsets.shape == (1, 1, 1024, 2)


def test_import_into_temporal_model_keeps_fresh_tam(tmp_path):
    path = tmp_path / 'baseline.pth'
    torch.save({'state_dict': _authors_state_dict(with_temporal=False)}, path)
    model, report = import_authors_checkpoint(path, ModelConfig.preset('paper'))
    assert report.not_imported == []
    assert report.left_initialised and all(
        k.startswith('temporal.') for k in report.left_initialised
    )
    assert model.temporal is not None


def test_unknown_or_missing_keys_are_rejected(tmp_path):
    sd = _authors_state_dict()
    sd['mystery_head.weight'] = torch.zeros(1)
    path = tmp_path / 'odd.pth'
    torch.save({'state_dict': sd}, path)
    with pytest.raises(CheckpointError, match='odd.pth.*mystery_head'):
        import_authors_checkpoint(path)
    del sd['mystery_head.weight'], sd['location_head.layers.2.bias']
    torch.save({'state_dict': sd}, path)
    with pytest.raises(CheckpointError, match='missing.*location_head.layers.2.bias'):
        import_authors_checkpoint(path)
