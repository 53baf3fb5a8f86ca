import numpy as np
import pytest
import tifffile
from tiles_testkit import synthetic_tile

from cvseq_localizer.geo import (
    latlon_to_world_px,
    tile_index,
    world_px_to_latlon,
    world_px_to_mercator_m,
)
from cvseq_localizer.tiles import (
    DirectoryTileSource,
    DirectoryTileWriter,
    GeoTiffSource,
    HttpTileSource,
    MBTilesSource,
    MBTilesWriter,
    TileError,
    TileNotFound,
    encode_tile,
    open_tile_source,
)

LAT, LON, Z = 49.0092, 8.4194, 20
TX, TY, _ = tile_index(LAT, LON, Z)


def _geokeys(model: int, raster: int, key: int, code: int) -> list[int]:
    return [1, 1, 0, 3, 1024, 0, 1, model, 1025, 0, 1, raster, key, 0, 1, code]


def _write_tif(path, image, scale, tiepoint, keys, compression=None) -> None:
    tags = [
        (33550, 'd', 3, (*scale, 0.0)),
        (33922, 'd', 6, (*tiepoint, 0.0)),
        (34735, 'H', len(keys), keys),
    ]
    tifffile.imwrite(path, image, photometric='rgb', extratags=tags, compression=compression)


def _mercator_mosaic(path, compression=None) -> None:
    """3x3 synthetic tiles around (TX, TY) as an EPSG:3857 GeoTIFF aligned to zoom-20 pixels."""
    rows = [
        np.hstack([synthetic_tile(x, y) for x in range(TX - 1, TX + 2)])
        for y in (TY - 1, TY, TY + 1)
    ]
    x0, y0 = world_px_to_mercator_m((TX - 1) * 256, (TY - 1) * 256, Z)
    x1, _ = world_px_to_mercator_m((TX - 1) * 256 + 1, (TY - 1) * 256, Z)
    res = float(x1 - x0)
    _write_tif(
        path,
        np.vstack(rows),
        (res, res),
        (0, 0, 0, float(x0), float(y0)),
        _geokeys(1, 1, 3072, 3857),
        compression,
    )


@pytest.mark.parametrize('compression', [None, 'zlib'])
def test_mercator_geotiff_tiles_equal_the_source_tiles(tmp_path, compression):
    _mercator_mosaic(tmp_path / 'o.tif', compression)
    with GeoTiffSource(tmp_path / 'o.tif') as src:
        for x, y in [(TX, TY), (TX - 1, TY + 1), (TX + 1, TY - 1)]:
            tile = src.fetch(Z, x, y)
            np.testing.assert_array_equal(tile, synthetic_tile(x, y))
        with pytest.raises(TileNotFound):
            src.fetch(Z, TX + 5, TY)


def test_wgs84_geotiff_marker_lands_where_its_degrees_say(tmp_path):
    # 0.2 arc-seconds-ish pixels; a white square whose top-left corner is at a known lat/lon.
    res = 1e-6
    lon0, lat0 = LON - 300 * res, LAT + 300 * res
    image = np.zeros((600, 600, 3), np.uint8)
    image[200:260, 330:390] = 255
    _write_tif(
        tmp_path / 'g.tif', image, (res, res), (0, 0, 0, lon0, lat0), _geokeys(2, 1, 2048, 4326)
    )
    corner_lat, corner_lon = lat0 - 200 * res, lon0 + 330 * res
    wx, wy = latlon_to_world_px(corner_lat, corner_lon, Z)
    tx, ty = int(wx // 256), int(wy // 256)
    tile = GeoTiffSource(tmp_path / 'g.tif').fetch(Z, tx, ty)
    bright = np.argwhere(tile[..., 0] > 127)
    v0, u0 = bright.min(axis=0)
    # First pixel whose centre lies inside the square (bilinear threshold at half intensity).
    assert abs(u0 + 0.5 - (wx - tx * 256)) <= 1.0
    assert abs(v0 + 0.5 - (wy - ty * 256)) <= 1.0
    lat, lon = world_px_to_latlon(tx * 256 + u0, ty * 256 + v0, Z)
    assert abs(lon - corner_lon) < 1.5 * res and abs(lat - corner_lat) < 1.5 * res


def test_unsupported_geotiffs_are_rejected_clearly(tmp_path):
    image = np.zeros((8, 8, 3), np.uint8)
    _write_tif(
        tmp_path / 'utm.tif', image, (1.0, 1.0), (0, 0, 0, 0, 0), _geokeys(1, 1, 3072, 32632)
    )
    with pytest.raises(TileError, match='EPSG:32632 is not supported'):
        GeoTiffSource(tmp_path / 'utm.tif')
    tifffile.imwrite(tmp_path / 'plain.tif', image, photometric='rgb')
    with pytest.raises(TileError, match='no GeoTIFF tags'):
        GeoTiffSource(tmp_path / 'plain.tif')


def test_factory_opens_every_kind(tmp_path, monkeypatch):
    with MBTilesWriter(tmp_path / 't.mbtiles') as mb, DirectoryTileWriter(tmp_path / 'd') as d:
        mb.put(Z, TX, TY, encode_tile(synthetic_tile(TX, TY)))
        d.put(Z, TX, TY, encode_tile(synthetic_tile(TX, TY)))
    _mercator_mosaic(tmp_path / 'o.tif')
    kinds = {
        f'mbtiles://{tmp_path}/t.mbtiles': MBTilesSource,
        str(tmp_path / 't.mbtiles'): MBTilesSource,
        f'dir://{tmp_path}/d': DirectoryTileSource,
        f'geotiff://{tmp_path}/o.tif': GeoTiffSource,
        str(tmp_path / 'o.tif'): GeoTiffSource,
    }
    for spec, cls in kinds.items():
        src = open_tile_source(spec)
        assert isinstance(src, cls), spec
        np.testing.assert_array_equal(src.fetch(Z, TX, TY), synthetic_tile(TX, TY))
        src.close()
    monkeypatch.setenv('K', 'abc')
    http = open_tile_source(
        {
            'uri': 'tms+https://h/{z}/{x}/{y}?k={key}',
            'api_key_env': 'K',
            'tile_px': 512,
            'cache': tmp_path / 'c.sqlite',
            'cache_max_mb': 1,
        }
    )
    assert isinstance(http, HttpTileSource) and http.tms and http.tile_px == 512
    assert http.cache.max_bytes == 1 << 20 and http.url(1, 0, 0) == 'https://h/1/0/1?k=abc'
    with pytest.raises(ValueError, match='unknown tile source'):
        open_tile_source('ftp://x/{z}/{x}/{y}')
    with pytest.raises(ValueError, match='bad options'):
        open_tile_source({'uri': f'dir://{tmp_path}/d', 'colour': 'blue'})
