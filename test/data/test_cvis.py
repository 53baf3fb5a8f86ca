"""CVIS loader on tiny on-disk fixtures in the SeqGeo JSON layout."""

import json

import numpy as np
import pytest
from fixtures import CVIS_LATLON, expected_tile_px, write_cvis_sequence, write_png

from cvseq_localizer.data.cvis import CvisDataset, read_cvis_json

# Street views (east, north) metres from the tile centre; all inside the 73 m tile.
OFFSETS_M = np.array([[0.0, 0.0], [20.0, 0.0], [0.0, -15.0], [-12.5, 30.0]])


@pytest.mark.parametrize('sat_size', [None, 256])
def test_labels_match_independent_web_mercator(tmp_path, sat_size):
    latlon = write_cvis_sequence(tmp_path, 7, OFFSETS_M)
    sample = CvisDataset(tmp_path, sat_size=sat_size)[0]
    size = 640 if sat_size is None else sat_size
    expected = expected_tile_px(latlon, CVIS_LATLON, zoom=20, tile_px=640) * size / 640
    assert sample.sat.shape == (size, size, 3)
    np.testing.assert_allclose(sample.uv_px, expected, atol=1e-4)
    assert sample.name == 'cvis/2019/7'


def test_metres_east_and_north_to_pixels(tmp_path):
    write_cvis_sequence(tmp_path, 1, OFFSETS_M)
    sample = CvisDataset(tmp_path, sat_size=256)[0]
    du, dv = sample.uv_px[1] - sample.uv_px[0]
    # 20 m east: 20 / metres_per_px pixels right, no vertical shift. The single metres_per_px is
    # the mean of the east/north resolutions, which differ by ~0.35 % at 44.5 deg N.
    assert du == pytest.approx(20.0 / sample.metres_per_px, rel=2.5e-3)
    assert dv == pytest.approx(0.0, abs=1e-3)
    # 15 m south: down the image.
    du, dv = sample.uv_px[2] - sample.uv_px[0]
    assert dv == pytest.approx(15.0 / sample.metres_per_px, rel=2.5e-3)
    assert du == pytest.approx(0.0, abs=1e-3)
    # Hand value (spherical, 640 px at zoom 20 shown at 256 px):
    # 156543.034 * cos(44.4759 deg) / 2**20 * 640 / 256 = 0.26631 m/px; WGS84 adds < 0.35 %.
    assert sample.metres_per_px == pytest.approx(0.26631, rel=4e-3)


def test_static_scale_two_tiles(tmp_path):
    latlon = write_cvis_sequence(tmp_path, 3, OFFSETS_M, sat_px=1280)
    sample = CvisDataset(tmp_path, static_scale=2.0)[0]
    # 1280 image pixels cover 640 world pixels: twice the pixel offsets of a scale-1 tile.
    centred = expected_tile_px(latlon, CVIS_LATLON, zoom=20, tile_px=0.0)
    np.testing.assert_allclose(sample.uv_px, 640.0 + 2 * centred, atol=1e-4)


def test_frame_order_max_frames_and_ground_resize(tmp_path):
    offsets = np.stack([np.arange(11) * 3.0, np.zeros(11)], axis=-1)
    keys = ['img_10', 'img_2', 'img_1', 'img_11', 'img_3'] + [f'img_{k}' for k in range(4, 10)]
    write_cvis_sequence(tmp_path, 5, offsets, keys=keys)
    full = CvisDataset(tmp_path)[0]
    assert [int(g[0, 0, 0]) for g in full.ground] == [10 * k for k in range(1, 12)]
    assert np.all(np.diff(full.uv_px[:, 0]) > 0)  # numeric, not lexical, order
    short = CvisDataset(tmp_path, max_frames=6, ground_width=48)[0]
    assert short.ground.shape == (6, 27, 48, 3)  # 108x192 -> 27x48 keeps the aspect
    np.testing.assert_allclose(short.uv_px, full.uv_px[:6])


def test_split_files(tmp_path):
    for n in range(3):
        write_cvis_sequence(tmp_path, n, OFFSETS_M)
    split = tmp_path / 'test.txt'
    split.write_text('# test split\n2\n0.json\n')
    ds = CvisDataset(tmp_path, [split])
    assert [p.name for p in ds.json_paths] == ['2.json', '0.json']
    assert len(CvisDataset(tmp_path)) == 3
    split.write_text('9\n')
    with pytest.raises(FileNotFoundError, match='9.json'):
        CvisDataset(tmp_path, [split])


def test_missing_and_corrupt_files_are_named(tmp_path):
    write_cvis_sequence(tmp_path, 0, OFFSETS_M)
    (tmp_path / 'street' / '2019_street' / '0_3.jpg.png').unlink()
    with pytest.raises(FileNotFoundError, match='0_3.jpg.png'):
        CvisDataset(tmp_path)[0]
    write_cvis_sequence(tmp_path, 0, OFFSETS_M)
    (tmp_path / 'satellite' / '0_20.png').write_bytes(b'not a png')
    with pytest.raises(ValueError, match='0_20.png'):
        CvisDataset(tmp_path)[0]


def test_bad_json_is_named(tmp_path):
    write_cvis_sequence(tmp_path, 4, OFFSETS_M)
    path = tmp_path / 'json' / '2019_JSON' / '4.json'
    doc = json.loads(path.read_text())
    del doc['center']
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match='4.json.*center'):
        read_cvis_json(path)
    path.write_text('{"center": [44.0,')
    with pytest.raises(ValueError, match='4.json.*not valid JSON'):
        CvisDataset(tmp_path)[0]


def test_position_outside_tile_is_an_error(tmp_path):
    write_cvis_sequence(tmp_path, 8, np.array([[0.0, 0.0], [60.0, 0.0]]))
    with pytest.raises(ValueError, match='cvis/2019/8: frame 1.*outside'):
        CvisDataset(tmp_path)[0]


def test_non_square_satellite_rejected(tmp_path):
    write_cvis_sequence(tmp_path, 2, OFFSETS_M)
    write_png(tmp_path / 'satellite' / '2_20.png', np.zeros((600, 640, 3), np.uint8))
    with pytest.raises(ValueError, match='2_20.png.*not square'):
        CvisDataset(tmp_path)[0]
