import threading

import numpy as np
import pytest
from tiles_testkit import TileServer, decode_errors, synthetic_tile

from cvseq_localizer.geo import LocalFrame, ground_resolution, tile_index
from cvseq_localizer.tiles import (
    DirectoryTileSource,
    DirectoryTileWriter,
    MBTilesSource,
    MBTilesWriter,
    encode_tile,
)
from cvseq_localizer.tiles.http import HttpTileSource
from cvseq_localizer.tiles.service import SatelliteTileService, TileServiceConfig

LAT, LON, Z = 49.0092, 8.4194, 20
EAST_RES, _ = ground_resolution(LAT, Z)


def _service(source, **kw) -> SatelliteTileService:
    kw.setdefault('zoom', Z)
    kw.setdefault('prefetch_radius_cells', 0)
    return SatelliteTileService(source, TileServiceConfig(**kw))


def _check_pixels(geo) -> float:
    """Max decoded-minus-expected world px over the checkable pixels (asserts enough exist)."""
    v, u = np.mgrid[0 : geo.height, 0 : geo.width] + 0.5
    wx, wy = geo.pixel_to_world_px(u, v)
    err_x, err_y, valid = decode_errors(np.asarray(geo.image), wx, wy, max(geo.scale) / 2 + 0.5)
    assert valid.mean() > 0.4, valid.mean()
    return float(max(np.nanmax(np.abs(err_x)), np.nanmax(np.abs(err_y))))


@pytest.mark.parametrize(
    'ground_m',
    [EAST_RES * 256, EAST_RES * 128, 72.0],
    ids=['1to1', 'enlarge2x', 'shrink72m'],
)
def test_covering_tile_matches_its_georeference(server, ground_m):
    with _service(HttpTileSource(server.url), ground_m=ground_m) as svc:
        tile = svc.covering(LAT, LON, deadline_s=None)
    assert tile.fresh and tile.geo.image.shape == (256, 256, 3)
    assert tile.geo.zoom == Z
    assert _check_pixels(tile.geo) < 0.1
    lat, lon = tile.geo.center_latlon
    e, n, _ = LocalFrame(LAT, LON).to_enu(lat, lon)
    assert np.hypot(e, n) <= np.hypot(ground_m / 32, ground_m / 32) / 2 + 1e-6
    if ground_m == 72.0:
        east_m, north_m = tile.geo.metres_per_pixel()
        assert east_m * 256 == pytest.approx(72.0, rel=1e-6)
        assert north_m * 256 == pytest.approx(72.0, rel=1e-4)


def test_512px_source_gives_the_same_tile_as_256px():
    big, small = TileServer(tile_px=512), TileServer()
    try:
        with _service(HttpTileSource(small.url), zoom=Z) as svc:
            a = svc.covering(LAT, LON, deadline_s=None)
        with _service(HttpTileSource(big.url, tile_px=512), zoom=Z - 1) as svc:
            b = svc.covering(LAT, LON, deadline_s=None)
    finally:
        big.stop()
        small.stop()
    assert big.requests[0][0].startswith(f'/{Z - 1}/')
    assert (b.geo.zoom, b.geo.origin_world_px, b.geo.scale, b.cell_index) == (
        a.geo.zoom,
        a.geo.origin_world_px,
        a.geo.scale,
        a.cell_index,
    )
    # Different mosaic origins move OpenCV's 1/32-px fixed-point rounding: at most 1 level.
    assert np.abs(a.geo.image.astype(int) - b.geo.image.astype(int)).max() <= 1
    assert _check_pixels(b.geo) < 0.1


def test_lattice_shifts_by_whole_cells(server):
    frame = LocalFrame(LAT, LON)
    with _service(HttpTileSource(server.url), prefetch_radius_cells=4) as svc:
        a = svc.covering(LAT, LON, deadline_s=None)
        step = svc.lattice.step_x, svc.lattice.step_y
        px_per_cell = 256 / 32
        for east_m, north_m in [(1.3, 0.0), (3.0, -2.5), (-4.1, 5.2), (7.7, 1.1)]:
            lat, lon, _ = frame.to_geodetic(east_m, north_m)
            b = svc.covering(float(lat), float(lon), deadline_s=None)
            drow, dcol = b.cell_index[0] - a.cell_index[0], b.cell_index[1] - a.cell_index[1]
            centre_e, centre_n, _ = frame.to_enu(*b.geo.center_latlon)
            assert abs(centre_e - east_m) <= 72 / 32 / 2 + 1e-3  # nearest node, half a cell
            assert abs(centre_n - north_m) <= 72 / 32 / 2 + 1e-3
            shift = (
                b.geo.origin_world_px[0] - a.geo.origin_world_px[0],
                b.geo.origin_world_px[1] - a.geo.origin_world_px[1],
            )
            assert shift == pytest.approx((dcol * step[0], drow * step[1]), abs=1e-6)
            # Same ground, same pixels: B is A shifted by whole cells (8 output px per cell).
            du, dv = int(dcol * px_per_cell), int(drow * px_per_cell)
            pa = np.asarray(a.geo.image)[
                max(dv, 0) : 256 + min(dv, 0), max(du, 0) : 256 + min(du, 0)
            ]
            pb = np.asarray(b.geo.image)[
                max(-dv, 0) : 256 - max(dv, 0), max(-du, 0) : 256 - max(du, 0)
            ]
            assert np.abs(pa.astype(int) - pb.astype(int)).max() <= 1


def test_mbtiles_and_directory_give_identical_tiles(tmp_path):
    with MBTilesWriter(tmp_path / 't.mbtiles') as mb, DirectoryTileWriter(tmp_path / 'd') as d:
        tx, ty, _ = tile_index(LAT, LON, Z)
        for x in range(tx - 3, tx + 4):
            for y in range(ty - 3, ty + 4):
                png = encode_tile(synthetic_tile(x, y))
                mb.put(Z, x, y, png)
                d.put(Z, x, y, png)
    with _service(MBTilesSource(tmp_path / 't.mbtiles')) as svc:
        a = svc.covering(LAT, LON, deadline_s=None)
    with _service(DirectoryTileSource(tmp_path / 'd')) as svc:
        b = svc.covering(LAT, LON, deadline_s=None)
    assert a.fresh and b.fresh
    assert a.geo.origin_world_px == b.geo.origin_world_px
    np.testing.assert_array_equal(a.geo.image, b.geo.image)
    assert _check_pixels(a.geo) < 0.1


def test_deadline_returns_the_previous_tile_or_none(server):
    """A deadline shorter than the server's delay: the answer comes before the tile (a service
    that waited for the server would return it fresh)."""
    src = HttpTileSource(server.url, timeout_s=5.0)
    with _service(src, deadline_s=0.05, workers=4) as svc:
        server.mode, server.delay_s = 'slow', 0.3
        first = svc.covering(LAT, LON)
        assert first.geo is None and 'not ready' in first.reason
        assert svc.wait_idle(timeout_s=10)
        fresh = svc.covering(LAT, LON)
        assert fresh.fresh
        frame = LocalFrame(LAT, LON)
        lat, lon, _ = frame.to_geodetic(30.0, 0.0)  # 13 cells east: needs a new tile column
        stale = svc.covering(float(lat), float(lon))
        assert stale.geo is fresh.geo and stale.cell_index == fresh.cell_index
        assert stale.reason.startswith('stale') and stale.requested_cell != fresh.cell_index
        lat, lon, _ = frame.to_geodetic(300.0, 0.0)  # far away: the old tile is useless
        assert svc.covering(float(lat), float(lon)).geo is None


@pytest.mark.parametrize('mode, reason', [('404', 'not in the source'), ('500', 'HTTP 500')])
def test_server_faults_give_none_and_reason(server, mode, reason):
    server.mode = mode
    with _service(HttpTileSource(server.url, retries=1, backoff_s=0.0)) as svc:
        tile = svc.covering(LAT, LON, deadline_s=None)
    assert tile.geo is None and reason in tile.reason


def test_drive_once_seen_runs_offline(tmp_path):
    server = TileServer()
    cache = tmp_path / 'cache.sqlite'
    with _service(HttpTileSource(server.url, cache=cache), prefetch_radius_cells=2) as svc:
        online = svc.covering(LAT, LON, deadline_s=None)
        svc.wait_idle(timeout_s=10)
    server.stop()
    with _service(HttpTileSource(server.url, cache=cache, offline=True)) as svc:
        offline = svc.covering(LAT, LON, deadline_s=None)
    np.testing.assert_array_equal(online.geo.image, offline.geo.image)


def test_close_joins_workers_while_fetching(server):
    server.mode, server.delay_s = 'slow', 0.3
    svc = _service(HttpTileSource(server.url, timeout_s=1.0, retries=0), prefetch_radius_cells=8)
    svc.covering(LAT, LON, deadline_s=0.0)
    closer = threading.Thread(target=svc.close)
    closer.start()
    closer.join(30.0)  # bounded: the fetches in flight end within the source's 1 s timeout
    assert not closer.is_alive(), 'close() did not return within 30 s'
    assert not [t for t in threading.enumerate() if t.name.startswith('tiles')]
    with pytest.raises(RuntimeError, match='closed'):
        svc.covering(LAT, LON)


def test_failures_warn_once_per_period_and_recover(server, caplog):
    server.mode = 'corrupt'
    src = HttpTileSource(server.url, retries=0)
    with _service(src, retry_after_s=0.0) as svc, caplog.at_level('WARNING'):
        for _ in range(3):
            tile = svc.covering(LAT, LON, deadline_s=None)
            assert tile.geo is None and 'not a decodable image' in tile.reason
        warnings = [r for r in caplog.records if r.name == 'cvseq_localizer.tiles.service']
        assert len(warnings) == 1
        server.mode = 'ok'
        assert svc.covering(LAT, LON, deadline_s=None).fresh


def test_fixed_reference_latitude_sets_the_cell_size(server):
    with _service(HttpTileSource(server.url), ref_lat_deg=LAT + 0.5) as svc:
        assert svc.lattice is not None
        tile = svc.covering(LAT, LON, deadline_s=None)
    east_res, north_res = ground_resolution(LAT + 0.5, Z)
    assert svc.lattice.step_x * east_res == pytest.approx(72 / 32, rel=1e-12)
    assert svc.lattice.step_y * north_res == pytest.approx(72 / 32, rel=1e-12)
    assert tile.fresh and _check_pixels(tile.geo) < 0.1
