import sqlite3

import numpy as np
import pytest
from tiles_testkit import synthetic_tile

from cvseq_localizer.geo import world_px_to_latlon
from cvseq_localizer.tiles import (
    DirectoryTileSource,
    DirectoryTileWriter,
    MBTilesSource,
    MBTilesWriter,
    TileDecodeError,
    TileNotFound,
    encode_tile,
)

Z = 18
TILES = [(Z, 137202, 90015), (Z, 137203, 90015), (Z, 137202, 90016)]


def _write(writer) -> None:
    with writer as w:
        for z, x, y in TILES:
            w.put(z, x, y, encode_tile(synthetic_tile(x, y)))


def test_mbtiles_round_trip_with_tms_rows_and_metadata(tmp_path):
    path = tmp_path / 'a.mbtiles'
    _write(MBTilesWriter(path, name='synthetic', fmt='png'))
    db = sqlite3.connect(path)
    meta = dict(db.execute('SELECT name, value FROM metadata'))
    rows = set(db.execute('SELECT zoom_level, tile_column, tile_row FROM tiles'))
    assert rows == {(z, x, (1 << z) - 1 - y) for z, x, y in TILES}
    assert meta['name'] == 'synthetic' and meta['format'] == 'png'
    assert (meta['minzoom'], meta['maxzoom']) == (str(Z), str(Z))
    west, south, east, north = map(float, meta['bounds'].split(','))
    lat_n, lon_w = world_px_to_latlon(137202 * 256, 90015 * 256, Z)
    lat_s, lon_e = world_px_to_latlon(137204 * 256, 90017 * 256, Z)
    assert (west, south, east, north) == pytest.approx((lon_w, lat_s, lon_e, lat_n), abs=1e-8)
    with MBTilesSource(path) as src:
        for _, x, y in TILES:
            np.testing.assert_array_equal(src.fetch(Z, x, y), synthetic_tile(x, y))
        with pytest.raises(TileNotFound, match='18/1/1'):
            src.fetch(Z, 1, 1)


def test_mbtiles_writer_appends_and_replaces(tmp_path):
    path = tmp_path / 'a.mbtiles'
    _write(MBTilesWriter(path))
    other = synthetic_tile(0, 0)
    with MBTilesWriter(path) as w:
        w.put(Z, 137202, 90015, encode_tile(other))
        w.put(Z + 1, 0, 0, encode_tile(other))
    with MBTilesSource(path) as src:
        np.testing.assert_array_equal(src.fetch(Z, 137202, 90015), other)
        np.testing.assert_array_equal(src.fetch(Z, 137203, 90015), synthetic_tile(137203, 90015))
        assert (src.metadata['minzoom'], src.metadata['maxzoom']) == (str(Z), str(Z + 1))


def test_directory_round_trip_is_atomic_layout(tmp_path):
    _write(DirectoryTileWriter(tmp_path / 'd'))
    files = sorted(p.relative_to(tmp_path / 'd').as_posix() for p in (tmp_path / 'd').rglob('*'))
    assert [f for f in files if f.endswith('.png')] == [
        '18/137202/90015.png',
        '18/137202/90016.png',
        '18/137203/90015.png',
    ]
    assert not [f for f in files if f.endswith('.tmp')]
    src = DirectoryTileSource(tmp_path / 'd')
    for _, x, y in TILES:
        np.testing.assert_array_equal(src.fetch(Z, x, y), synthetic_tile(x, y))
    with pytest.raises(TileNotFound):
        src.fetch(Z, 137210, 90015)


def test_corrupt_and_bad_input_give_clear_errors(tmp_path):
    with DirectoryTileWriter(tmp_path / 'd') as w:
        w.put(Z, 5, 5, b'\x89PNG\r\n\x1a\n truncated')
        with pytest.raises(ValueError, match='outside'):
            w.put(Z, -1, 5, b'')
    with pytest.raises(TileDecodeError, match='not a decodable image'):
        DirectoryTileSource(tmp_path / 'd').fetch(Z, 5, 5)
    with pytest.raises(ValueError, match='unknown'):
        MBTilesWriter(tmp_path / 'x.mbtiles', fmt='gif')
    with pytest.raises(FileNotFoundError):
        MBTilesSource(tmp_path / 'missing.mbtiles')
