"""ONNX export: metadata round trip, checked graphs, the cvseq-export tool and bad files."""

import json

import numpy as np
import onnx
import pytest
import torch

from cvseq_localizer.model.checkpoint import save_checkpoint
from cvseq_localizer.model.config import ModelConfig
from cvseq_localizer.model.net import build_model
from cvseq_localizer.runtime.export import (
    FORMAT,
    ExportFormatError,
    config_from_metadata,
    read_metadata,
    sha256_file,
)
from cvseq_localizer.runtime.onnx_engine import OrtEngine
from cvseq_localizer.tools.export import main as export_main


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """A tiny checkpoint with extra values, exported with the command-line tool."""
    root = tmp_path_factory.mktemp('export')
    torch.manual_seed(0)
    config = ModelConfig.preset('tiny', sat_pool='max')
    extra = {'sat_ground_m': 0.25, 'dataset': 'sim', 'anchors': torch.tensor([1.5, 2.5])}
    ckpt = save_checkpoint(build_model(config), root / 'tiny.pt', extra=extra)
    assert export_main([str(ckpt), '--out', str(root / 'out'), '--exporter', 'torchscript']) == 0
    return ckpt, root / 'out', config


def test_metadata_round_trip(exported, capsys):
    ckpt, out, config = exported
    export_dir, meta = read_metadata(out / 'metadata.json')
    assert export_dir == out and meta['format'] == FORMAT
    assert config_from_metadata(meta, str(out)) == config
    assert meta['source_checkpoint']['sha256'] == sha256_file(ckpt)
    assert meta['extra'] == {'sat_ground_m': 0.25, 'dataset': 'sim', 'anchors': [1.5, 2.5]}
    assert meta['normalisation']['mean'] == list(config.mean)
    assert meta['exporter'] == 'torchscript'
    # Every listed graph passes the checker, has the recorded opset, names and static shapes.
    for graph in meta['graphs'].values():
        model = onnx.load(str(out / graph['file']))
        onnx.checker.check_model(model, full_check=True)
        assert model.opset_import[0].version == meta['opset']
        assert graph['sha256'] == sha256_file(out / graph['file'])
        assert [o.name for o in model.graph.output] == graph['outputs']
        for inp in model.graph.input:
            dims = [d.dim_value for d in inp.type.tensor_type.shape.dim]
            assert dims == meta['inputs'][inp.name], inp.name
    assert meta['inputs']['ground'] == [1, 3, *config.ground_size]
    engine = OrtEngine(out)
    assert engine.metadata == meta['extra'] and engine.config == config


def test_cli_default_out_and_errors(exported, tmp_path, capsys):
    ckpt = exported[0]
    copy = tmp_path / 'model.pt'
    copy.write_bytes(ckpt.read_bytes())
    assert export_main([str(copy), '--exporter', 'torchscript']) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / 'model_onnx' / 'metadata.json')
    assert export_main([str(tmp_path / 'missing.pt')]) == 2
    assert 'missing.pt' in capsys.readouterr().err
    (tmp_path / 'bad.pt').write_bytes(b'not a zip')
    assert export_main([str(tmp_path / 'bad.pt')]) == 2
    assert 'bad.pt' in capsys.readouterr().err


def _copy_export(src, dst):
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def test_missing_or_corrupt_graph_is_named(exported, tmp_path):
    out = _copy_export(exported[1], tmp_path / 'copy')
    step = out / 'step.onnx'
    step.write_bytes(step.read_bytes()[:1000])  # truncated download
    with pytest.raises(ExportFormatError, match=r'step\.onnx: SHA-256 differs'):
        OrtEngine(out)
    with pytest.raises(ExportFormatError, match=r'step\.onnx: ONNX Runtime cannot load it'):
        OrtEngine(out, verify=False)
    step.unlink()
    with pytest.raises(FileNotFoundError, match=r'step\.onnx'):
        OrtEngine(out)


def test_bad_metadata_is_named(exported, tmp_path):
    out = _copy_export(exported[1], tmp_path / 'copy')
    meta_path = out / 'metadata.json'
    meta = json.loads(meta_path.read_text())
    meta['config']['grid_size'] = 'sixteen'
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ExportFormatError, match='invalid model config'):
        OrtEngine(out)
    meta_path.write_text('{"format": "something/else", "config": {}, "graphs": {}}')
    with pytest.raises(ExportFormatError, match='not a cvseq_localizer.onnx/1'):
        read_metadata(out)
    meta_path.write_bytes(np.arange(50, dtype=np.uint8).tobytes())
    with pytest.raises(ExportFormatError, match='metadata.json: not valid JSON'):
        read_metadata(meta_path)
    with pytest.raises(FileNotFoundError, match='nowhere'):
        read_metadata(tmp_path / 'nowhere')
