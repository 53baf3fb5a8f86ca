"""load_engine: the engine for the path; 'auto' prefers an up-to-date ONNX export on CPU."""

import pytest
import torch

from cvseq_localizer.model.checkpoint import CheckpointError, save_checkpoint
from cvseq_localizer.model.config import ModelConfig
from cvseq_localizer.model.net import build_model
from cvseq_localizer.runtime.export import export_checkpoint
from cvseq_localizer.runtime.factory import default_export_dir, load_engine, resolve_engine
from cvseq_localizer.runtime.onnx_engine import OrtEngine
from cvseq_localizer.runtime.torch_engine import TorchEngine


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp('factory') / 'tiny.pt'
    return save_checkpoint(build_model(ModelConfig.preset('tiny')), path, extra={'k': 1})


def test_checkpoint_without_export_runs_torch(checkpoint):
    assert not default_export_dir(checkpoint).exists()
    engine = load_engine(checkpoint)
    assert isinstance(engine, TorchEngine) and engine.metadata == {'k': 1}
    with pytest.raises(ValueError, match='export it with cvseq-export'):
        load_engine(checkpoint, engine='onnx')


def test_auto_uses_matching_export_on_cpu_only(checkpoint, tmp_path):
    export_dir = default_export_dir(checkpoint)
    export_checkpoint(checkpoint, export_dir, exporter='torchscript')
    assert isinstance(load_engine(checkpoint), OrtEngine)
    assert isinstance(load_engine(checkpoint, engine='torch'), TorchEngine)
    assert resolve_engine(checkpoint, 'auto', 'cuda') == ('torch', checkpoint)
    for path in (export_dir, export_dir / 'metadata.json'):
        engine = load_engine(path, providers=['cpu'])
        assert isinstance(engine, OrtEngine) and engine.metadata == {'k': 1}
        with pytest.raises(ValueError, match='holds a onnx model'):
            load_engine(path, engine='torch')
    # A checkpoint re-saved with other weights no longer matches its old export.
    stale = tmp_path / 'tiny.pt'
    save_checkpoint(build_model(ModelConfig.preset('tiny')), stale)
    (tmp_path / 'tiny_onnx').symlink_to(export_dir, target_is_directory=True)
    assert resolve_engine(stale, 'auto', 'cpu') == ('torch', stale)


def test_bad_paths_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='absent.pt'):
        load_engine(tmp_path / 'absent.pt')
    corrupt = tmp_path / 'corrupt.pt'
    corrupt.write_bytes(b'\x00' * 64)
    with pytest.raises(CheckpointError, match='corrupt.pt'):
        load_engine(corrupt)
    odd = tmp_path / 'weights.bin'
    odd.write_bytes(b'x')
    with pytest.raises(ValueError, match='weights.bin: cannot tell the model format'):
        load_engine(odd)
    with pytest.raises(ValueError, match='engine'):
        load_engine(corrupt, engine='tensorflow')
