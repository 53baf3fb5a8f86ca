"""Tile faults: 404s retried with back-off, an explicit fetch budget, the disk cache from the
``tiles`` spec, and broken MBTiles files named at open."""

import sqlite3

import numpy as np
import pytest
from hostile_data import png_header_only
from tiles_testkit import TileServer, synthetic_tile

from cvseq_localizer.tiles import (
    MBTilesSource,
    MBTilesWriter,
    TileDecodeError,
    TileError,
    TileNotFound,
    decode_tile,
    encode_tile,
    open_tile_source,
)
from cvseq_localizer.tiles import service as service_module
from cvseq_localizer.tiles.factory import CacheOptions
from cvseq_localizer.tiles.service import SatelliteTileService, TileServiceConfig

LAT, LON, Z = 49.0092, 8.4194, 20


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def monotonic(self) -> float:
        return self.t


class FlakySource:
    """Answers 'not found' for every tile while ``missing``, then serves grey tiles."""

    tile_px = 256
    name = 'flaky'

    def __init__(self) -> None:
        self.missing = True
        self.calls = 0

    def fetch(self, z, x, y):
        self.calls += 1
        if self.missing:
            raise TileNotFound(f'flaky: no tile {z}/{x}/{y}')
        return np.full((256, 256, 3), 128, np.uint8)

    def close(self):
        pass


def test_missing_tiles_are_retried_with_back_off(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(service_module, 'time', clock)
    src = FlakySource()
    cfg = TileServiceConfig(zoom=Z, prefetch_radius_cells=0, missing_retry_s=5.0)
    with SatelliteTileService(src, cfg) as svc:
        first = svc.covering(LAT, LON, deadline_s=None)
        assert first.geo is None and 'not in the source' in first.reason
        per_query = src.calls
        clock.t += 1.0
        assert 'retry in 5' in svc.covering(LAT, LON, deadline_s=None).reason
        assert src.calls == per_query  # not refetched within the wait
        clock.t += 4.5
        svc.covering(LAT, LON, deadline_s=None)
        assert src.calls == 2 * per_query  # retried after 5 s
        clock.t += 6.0
        assert 'retry in 10' in svc.covering(LAT, LON, deadline_s=None).reason  # doubled
        assert src.calls == 2 * per_query
        src.missing = False  # the server is back
        clock.t += 4.5
        assert svc.covering(LAT, LON, deadline_s=None).fresh


def test_retry_wait_is_capped():
    cfg = TileServiceConfig(retry_after_s=2.0, missing_retry_s=5.0, retry_max_s=60.0)
    with SatelliteTileService(FlakySource(), cfg) as svc:
        assert svc._retry_wait_s((0.0, '', 1, True)) == 5.0
        assert svc._retry_wait_s((0.0, '', 3, False)) == 8.0
        assert svc._retry_wait_s((0.0, '', 500, True)) == 60.0


def test_fetch_budget_bounds_a_slow_tile(server):
    server.mode, server.delay_s = 'slow', 3.0
    src = open_tile_source(server.url + '#timeout_s=5&retries=2&backoff_s=0&fetch_budget_s=0.4')
    with src, pytest.raises(TileError, match='gave up after'):
        src.fetch(18, 137202, 90015)


def test_disk_cache_from_the_spec_string_and_offline(tmp_path):
    server = TileServer()
    cache = tmp_path / 'cache' / 'tiles.sqlite'
    with open_tile_source(f'{server.url}#cache={cache}&cache_max_mb=64') as src:
        assert src.cache is not None and src.cache.path == cache
        assert src.cache.max_bytes == 64 << 20 and not src.offline
        online = src.fetch(18, 137202, 90015)
    server.stop()
    with open_tile_source(server.url, cache=CacheOptions(str(cache), 64, offline=True)) as src:
        assert src.offline
        np.testing.assert_array_equal(src.fetch(18, 137202, 90015), online)
        with pytest.raises(TileNotFound, match='offline'):
            src.fetch(18, 137203, 90015)


def test_cache_options_are_checked():
    with pytest.raises(ValueError, match='cache path'):
        CacheOptions('', offline=True)
    with pytest.raises(ValueError, match='after #'):
        open_tile_source('https://h/{z}/{x}/{y}.png#cache')


def _mbtiles(path, tiles=40):
    with MBTilesWriter(path) as writer:
        rng = np.random.default_rng(0)
        for i in range(tiles):
            writer.put(
                18, 1000 + i, 2000, encode_tile(rng.integers(0, 255, (256, 256, 3), np.uint8))
            )
    return path


def test_garbage_empty_and_truncated_mbtiles_are_named(tmp_path):
    garbage = tmp_path / 'garbage.mbtiles'
    garbage.write_bytes(b'not sqlite at all' * 100)
    empty = tmp_path / 'empty.mbtiles'
    empty.write_bytes(b'')
    full = _mbtiles(tmp_path / 'full.mbtiles')
    truncated = tmp_path / 'truncated.mbtiles'
    truncated.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    for path, needle in ((garbage, 'sqlite header'), (empty, 'empty'), (truncated, 'truncated')):
        with pytest.raises(TileError, match=needle) as err:
            MBTilesSource(path)
        assert str(path) in str(err.value)
    MBTilesSource(full).close()


def test_mbtiles_without_a_tiles_table_is_named(tmp_path):
    path = tmp_path / 'notiles.mbtiles'
    db = sqlite3.connect(path)
    db.execute('CREATE TABLE metadata (name TEXT, value TEXT)')
    db.commit()
    db.close()
    with pytest.raises(TileError, match='no tiles table') as err:
        MBTilesSource(path)
    assert str(path) in str(err.value)


def test_tile_declaring_a_huge_size_is_refused_before_decoding():
    with pytest.raises(TileDecodeError, match='40000x40000'):
        decode_tile(png_header_only(40000, 40000), 256, 'tile 1/2/3')
    with pytest.raises(TileDecodeError):
        decode_tile(png_header_only(40000, 40000), None, 'tile 1/2/3')
    assert decode_tile(encode_tile(synthetic_tile(0, 0)), 256).shape == (256, 256, 3)
