"""Checkpoint round trip, error messages, torchvision ResNet key loading."""

import pytest
import torch
from torch import nn

from cvseq_localizer.model import (
    CheckpointError,
    ModelConfig,
    build_model,
    load_backbone_weights,
    load_checkpoint,
    save_checkpoint,
)
from cvseq_localizer.model.backbone import Bottleneck, build_backbone
from cvseq_localizer.model.checkpoint import FORMAT


def test_round_trip_gives_identical_outputs(tmp_path, tiny_model, tiny_config, make_inputs):
    ground, sat = make_inputs(tiny_config)
    path = save_checkpoint(tiny_model, tmp_path / 'm.pt', extra={'sat_ground_m': 73.0})
    loaded, extra = load_checkpoint(path)
    assert loaded.config == tiny_config
    assert extra == {'sat_ground_m': 73.0}
    assert not loaded.training
    with torch.inference_mode():
        a, b = tiny_model(ground, sat), loaded(ground, sat)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    # Plain contents only: a weights-only load sees the config, sizes and normalisation.
    raw = torch.load(path, weights_only=True)
    assert raw['format'] == FORMAT
    assert raw['config']['ground_size'] == list(tiny_config.ground_size)
    assert raw['config']['mean'] == list(tiny_config.mean)


def test_missing_and_corrupt_files_name_the_file(tmp_path, tiny_model):
    with pytest.raises(FileNotFoundError, match='nope.pt'):
        load_checkpoint(tmp_path / 'nope.pt')
    bad = tmp_path / 'corrupt.pt'
    save_checkpoint(tiny_model, bad)
    bad.write_bytes(bad.read_bytes()[:200])
    with pytest.raises(CheckpointError, match='corrupt.pt'):
        load_checkpoint(bad)
    other = tmp_path / 'other.pt'
    torch.save({'weights': torch.zeros(2)}, other)
    with pytest.raises(CheckpointError, match='other.pt.*format'):
        load_checkpoint(other)


def test_mismatched_shapes_are_rejected(tmp_path, tiny_model):
    path = save_checkpoint(tiny_model, tmp_path / 'm.pt')
    raw = torch.load(path, weights_only=True)
    raw['state_dict']['sat_proj.weight'] = torch.zeros(7, 1, 1, 1)
    torch.save(raw, path)
    with pytest.raises(CheckpointError, match=r'm.pt.*shape mismatch.*sat_proj.weight'):
        load_checkpoint(path)


def test_extra_must_be_plain(tmp_path, tiny_model):
    with pytest.raises(ValueError, match='extra.bad'):
        save_checkpoint(tiny_model, tmp_path / 'm.pt', extra={'bad': object()})


def _full_resnet50_state_dict() -> dict:
    """A torchvision-style full ResNet-50 state dict: layer1-3, plus layer4 and fc."""
    torch.manual_seed(3)
    trunk = build_backbone('resnet50', 64, (3, 4, 6))
    layer4 = nn.Sequential(Bottleneck(1024, 512, stride=2), Bottleneck(2048, 512))
    sd = dict(trunk.state_dict())
    sd.update({f'layer4.{k}': v for k, v in layer4.state_dict().items()})
    sd.update({'fc.weight': torch.randn(1000, 2048), 'fc.bias': torch.randn(1000)})
    return sd


def test_torchvision_resnet50_file_loads_and_reports_ignored_keys(tmp_path):
    sd = _full_resnet50_state_dict()
    path = tmp_path / 'resnet50.pth'
    torch.save(sd, path)
    model = build_model(ModelConfig.preset('paper', num_fusion_layers=0))
    report = load_backbone_weights(model, path)
    assert 'fc.weight' in report.ignored and 'layer4.1.conv3.weight' in report.ignored
    assert not any(k.startswith(('layer4.', 'fc.')) for k in report.loaded)
    assert len(report.loaded) == len(model.ground_backbone.state_dict())
    for branch in (model.sat_backbone, model.ground_backbone):
        torch.testing.assert_close(branch.layer3[5].conv3.weight, sd['layer3.5.conv3.weight'])
    del sd['layer2.0.bn1.running_var']
    sd['extra.weight'] = torch.zeros(1)
    torch.save(sd, path)
    with pytest.raises(CheckpointError, match=r'resnet50.pth.*layer2.0.bn1.running_var.*extra'):
        load_backbone_weights(model, path)
