"""cvseq-replay on corrupt files: exit code != 0 and a message naming the file, no traceback."""

import json
import shutil

import pytest
from drive_kit import make_drive

from cvseq_localizer.model.config import ModelConfig
from cvseq_localizer.runtime.export import FORMAT as EXPORT_FORMAT
from cvseq_localizer.tools.replay import main


@pytest.fixture(scope='module')
def drive(tmp_path_factory):
    return make_drive(tmp_path_factory.mktemp('drive'))


def _run(capsys, bag, out, *flags: str) -> tuple[int, str]:
    rc = main([str(bag), '--out', str(out), *flags])
    return rc, capsys.readouterr().err


def _bad_tiles(kind: str, drive, tmp_path):
    path = tmp_path / f'{kind}.mbtiles'
    if kind == 'garbage':
        path.write_bytes(b'definitely not sqlite ' * 500)
    elif kind == 'empty':
        path.write_bytes(b'')
    elif kind == 'truncated':
        data = (drive[0].parent / 'tiles.mbtiles').read_bytes()
        path.write_bytes(data[: len(data) // 3])
    elif kind == 'no_tiles_table':
        import sqlite3

        with sqlite3.connect(path) as db:
            db.execute('CREATE TABLE metadata (name TEXT, value TEXT)')
    return path


@pytest.mark.parametrize('kind', ['garbage', 'empty', 'truncated', 'no_tiles_table'])
def test_a_corrupt_mbtiles_file_is_an_error_naming_it(drive, tmp_path, capsys, kind):
    bag, model = drive
    path = _bad_tiles(kind, drive, tmp_path)
    rc, err = _run(capsys, bag, tmp_path / 'out', '--model', str(model), '--tiles', str(path))
    assert rc != 0, err
    assert str(path) in err and 'Traceback' not in err


def test_a_checkpoint_with_flipped_bytes_is_an_error_naming_it(drive, tmp_path, capsys):
    from test_hostile_files import flip_tensor_bytes

    bag, model = drive
    flipped = tmp_path / 'flipped.pt'
    shutil.copy(model, flipped)
    flip_tensor_bytes(flipped)
    rc, err = _run(capsys, bag, tmp_path / 'out', '--model', str(flipped), '--engine', 'torch')
    assert rc != 0 and str(flipped) in err and 'checksum' in err


def _metadata(kind: str) -> str:
    if kind == 'not_json':
        return '{not json'
    meta = {
        'format': EXPORT_FORMAT,
        'config': ModelConfig.preset('tiny').to_dict(),
        'graphs': {},
        'normalisation': {'mean': [0.4] * 3, 'std': [0.2] * 3, 'scale': 255.0},
        'extra': {'sat_ground_m': 'abc'},  # the one bad value
    }
    return json.dumps(meta)


@pytest.mark.parametrize('kind', ['not_json', 'bad_value'])
def test_an_onnx_export_with_bad_metadata_is_an_error_naming_it(drive, tmp_path, capsys, kind):
    bag, _ = drive
    folder = tmp_path / 'export'
    folder.mkdir()
    (folder / 'metadata.json').write_text(_metadata(kind))
    rc, err = _run(capsys, bag, tmp_path / 'out', '--model', str(folder), '--engine', 'onnx')
    assert rc != 0 and 'metadata.json' in err and str(folder) in err, err


def test_a_truncated_bag_is_an_error_naming_it(drive, tmp_path, capsys):
    bag, model = drive
    cut = tmp_path / 'cut_bag'
    shutil.copytree(bag, cut)
    for data in cut.glob('*.mcap'):
        data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    tiles = bag.parent / 'tiles.mbtiles'
    rc, err = _run(capsys, cut, tmp_path / 'out', '--model', str(model), '--tiles', str(tiles))
    assert rc != 0 and str(cut) in err and 'Traceback' not in err
