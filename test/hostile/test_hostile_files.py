"""Corrupt model files: tensor checksums verified on load, metadata errors name the file."""

import json
import logging
import zipfile

import pytest
import torch

from cvseq_localizer.model.checkpoint import (
    FORMAT,
    CheckpointError,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from cvseq_localizer.model.config import ModelConfig
from cvseq_localizer.model.net import build_model
from cvseq_localizer.runtime.export import FORMAT as EXPORT_FORMAT
from cvseq_localizer.runtime.export import ExportFormatError, read_metadata


@pytest.fixture(scope='module')
def tiny_model():
    torch.manual_seed(0)
    return build_model(ModelConfig.preset('tiny'))


def flip_tensor_bytes(path, count=4000):
    """Flip ``count`` bytes in the middle of the largest tensor record of a torch zip file."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = max((i for i in zf.infolist() if '/data/' in i.filename), key=lambda i: i.file_size)
    # Local file header: 30 bytes + name + extra field, then the stored (uncompressed) bytes.
    name_len = int.from_bytes(data[info.header_offset + 26 : info.header_offset + 28], 'little')
    extra_len = int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], 'little')
    start = info.header_offset + 30 + name_len + extra_len + info.file_size // 2 - count // 2
    for i in range(start, start + min(count, info.file_size)):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def test_flipped_tensor_bytes_are_a_checkpoint_error_naming_the_file(tmp_path, tiny_model):
    path = save_checkpoint(tiny_model, tmp_path / 'flipped.pt')
    load_checkpoint(path)
    flip_tensor_bytes(path)
    with pytest.raises(CheckpointError, match='checksum mismatch') as err:
        load_checkpoint(path)
    assert 'flipped.pt' in str(err.value)


def test_checkpoint_without_checksum_loads_with_a_note(tmp_path, tiny_model, caplog):
    old = tmp_path / 'old.pt'
    payload = {
        'format': FORMAT,
        'config': tiny_model.config.to_dict(),
        'state_dict': tiny_model.state_dict(),
        'extra': {'sat_ground_m': 64.0},
    }
    torch.save(payload, old)
    with caplog.at_level(logging.INFO, logger='cvseq_localizer.model.checkpoint'):
        model, extra = load_checkpoint(old)
    assert extra == {'sat_ground_m': 64.0}
    assert any('no tensor checksum' in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ('extra', 'needle'),
    [({'sat_ground_m': 'abc'}, "'abc'"), ({'sat_ground_m': -5.0}, '-5.0'), ([1, 2], 'extra')],
)
def test_bad_checkpoint_extra_names_the_file(tmp_path, tiny_model, extra, needle):
    path = tmp_path / 'bad_extra.pt'
    save_checkpoint(tiny_model, path)
    payload = torch.load(path, weights_only=True)
    payload['extra'] = extra
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=needle) as err:
        read_checkpoint(path)
    assert 'bad_extra.pt' in str(err.value)


def write_metadata(folder, **changes):
    meta = {
        'format': EXPORT_FORMAT,
        'config': ModelConfig.preset('tiny').to_dict(),
        'graphs': {},
        'normalisation': {'mean': [0.4, 0.4, 0.4], 'std': [0.2, 0.2, 0.2], 'scale': 255.0},
        'extra': {'sat_ground_m': 64.0},
    }
    meta.update(changes)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / 'metadata.json').write_text(json.dumps(meta))
    return folder


@pytest.mark.parametrize(
    'changes',
    [
        {'extra': {'sat_ground_m': 'abc'}},
        {'extra': {'sat_ground_m': -5.0}},
        {'extra': {'offset_sigma_m': float('nan')}},
        {'normalisation': {'mean': ['abc', 0, 0], 'std': [1, 1, 1]}},
        {'normalisation': {'mean': [0, 0, 0], 'std': [1, 0, 1]}},
        {'config': dict(ModelConfig.preset('tiny').to_dict(), grid_size=-3)},
        {'config': dict(ModelConfig.preset('tiny').to_dict(), sat_size='abc')},
    ],
)
def test_bad_onnx_metadata_names_metadata_json(tmp_path, changes):
    folder = write_metadata(tmp_path / 'export', **changes)
    with pytest.raises(ExportFormatError, match='metadata.json'):
        read_metadata(folder)


def test_good_onnx_metadata_reads(tmp_path):
    folder, meta = read_metadata(write_metadata(tmp_path / 'export'))
    assert meta['extra'] == {'sat_ground_m': 64.0}
