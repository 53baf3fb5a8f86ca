"""The aerial renderer follows the exact georeference, and its tile pyramid matches it."""

import numpy as np

from cvseq_localizer.geo import GeoImage, latlon_to_world_px
from cvseq_localizer.sim.aerial import (
    covering_tiles,
    raster_maps,
    render_aerial,
    tile_geoimage,
    write_tile_pyramid,
)
from cvseq_localizer.tiles.mbtiles import MBTilesSource, MBTilesWriter


def test_interpolated_maps_match_the_exact_conversion(small_world):
    geo = GeoImage.centered(np.zeros((200, 256, 3), np.uint8), 49.0112, 8.4168, 19, (1.3, 1.3))
    ru, rv = raster_maps(small_world, geo)
    v, u = np.mgrid[0:200, 0:256] + 0.5
    east, north = geo.pixel_to_enu(u, v, small_world.frame)
    eu, ev = small_world.grid.enu_to_px(east, north)
    err_m = np.hypot(ru - eu, rv - ev).max() * small_world.grid.res_m
    assert err_m < 1e-3


def test_outside_the_world_is_the_fill_colour(small_world):
    lat, lon, _ = small_world.frame.to_geodetic(500.0, 500.0)
    geo = GeoImage.centered(np.zeros((32, 32, 3), np.uint8), float(lat), float(lon), 19)
    img = render_aerial(small_world, geo)
    assert np.all(img == img[0, 0])


def test_tile_pyramid_decodes_and_agrees_with_render_aerial(small_world, tmp_path):
    path = tmp_path / 'world.mbtiles'
    with MBTilesWriter(path, name='test', fmt='png') as writer:
        n = write_tile_pyramid(small_world, writer, zooms=(18, 19))
    tiles = covering_tiles(small_world, 19)
    assert n == len(tiles) + len(covering_tiles(small_world, 18)) and len(tiles) >= 9
    source = MBTilesSource(path)
    try:
        for z, x, y in tiles[:4]:
            tile = source.fetch(z, x, y)
            np.testing.assert_array_equal(tile, render_aerial(small_world, tile_geoimage(z, x, y)))
        # A 2 x 2 mosaic equals one render over the same footprint (up to interpolation).
        z, x, y = tiles[0]
        top = np.concatenate([source.fetch(z, x, y), source.fetch(z, x + 1, y)], axis=1)
        low = np.concatenate([source.fetch(z, x, y + 1), source.fetch(z, x + 1, y + 1)], axis=1)
        mosaic = np.concatenate([top, low], axis=0)
    finally:
        source.close()
    big = GeoImage(np.zeros((512, 512, 3), np.uint8), z, (x * 256.0, y * 256.0))
    diff = np.abs(render_aerial(small_world, big).astype(int) - mosaic.astype(int))
    assert diff.mean() < 0.5 and np.percentile(diff, 99) <= 2


def test_covering_tiles_cover_the_world_corners(small_world):
    tiles = covering_tiles(small_world, 19)
    xs, ys = {t[1] for t in tiles}, {t[2] for t in tiles}
    for e, n in [(-59.0, 59.0), (59.0, -59.0)]:
        lat, lon, _ = small_world.frame.to_geodetic(e, n)
        wx, wy = latlon_to_world_px(lat, lon, 19)
        assert int(wx // 256) in xs and int(wy // 256) in ys
