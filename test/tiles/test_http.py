import logging
import sqlite3
import time

import numpy as np
import pytest
from tiles_testkit import TileServer, synthetic_tile

from cvseq_localizer.tiles import TileDecodeError, TileError, TileNotFound
from cvseq_localizer.tiles.cache import TileCache
from cvseq_localizer.tiles.http import HttpTileSource

Z, X, Y = 18, 137202, 90015


def test_fetch_decodes_and_sends_user_agent(server):
    with HttpTileSource(server.url) as src:
        np.testing.assert_array_equal(src.fetch(Z, X, Y), synthetic_tile(X, Y))
    path, headers = server.requests[0]
    assert path == f'/{Z}/{X}/{Y}.png'
    assert headers['User-Agent'].startswith('cvseq_localizer/')


def test_template_orders_tms_quadkey_and_key(monkeypatch):
    monkeypatch.setenv('TILE_KEY', 's3cr3t')
    esri = HttpTileSource('https://h/{z}/{y}/{x}?k={key}', api_key_env='TILE_KEY')
    assert esri.url(3, 5, 2) == 'https://h/3/2/5?k=s3cr3t'
    assert esri.redact(esri.url(3, 5, 2)) == 'https://h/3/2/5?k=***'
    assert 's3cr3t' not in esri.name + esri.layer
    assert HttpTileSource('https://h/{z}/{x}/{-y}').url(3, 5, 2) == 'https://h/3/5/5'
    assert HttpTileSource('https://h/{z}/{x}/{y}', tms=True).url(3, 5, 2) == 'https://h/3/5/5'
    assert HttpTileSource('https://h/{q}.jpg').url(3, 3, 5) == 'https://h/213.jpg'
    param = HttpTileSource('https://h/{z}/{x}/{y}', api_key_env='TILE_KEY', api_key_param='t')
    assert param.url(1, 0, 1) == 'https://h/1/0/1?t=s3cr3t'
    with pytest.raises(ValueError, match='unknown placeholders'):
        HttpTileSource('https://h/{zoom}/{x}/{y}')
    with pytest.raises(ValueError, match='needs'):
        HttpTileSource('https://h/{z}/{x}')
    monkeypatch.delenv('TILE_KEY')
    with pytest.raises(ValueError, match='TILE_KEY'):
        HttpTileSource('https://h/{z}/{x}/{y}?k={key}', api_key_env='TILE_KEY')


def test_404_is_not_found_500_is_error_after_retries(server):
    src = HttpTileSource(server.url, retries=2, backoff_s=0.0)
    server.mode = '404'
    with pytest.raises(TileNotFound, match='404'):
        src.fetch(Z, X, Y)
    assert server.count() == 1
    server.mode = '500'
    with pytest.raises(TileError, match='500'):
        src.fetch(Z, X, Y)
    assert server.count() == 1 + 3
    server.mode, server.fail_first = 'ok', 2
    np.testing.assert_array_equal(src.fetch(Z, X, Y), synthetic_tile(X, Y))


def test_slow_server_times_out(server):
    """The server would answer after 2 s; a 0.1 s timeout makes the fetch fail instead (without
    the timeout it would return the tile)."""
    server.mode, server.delay_s = 'slow', 2.0
    src = HttpTileSource(server.url, timeout_s=0.1, retries=1, backoff_s=0.0)
    with pytest.raises(TileError, match='timed out|Read'):
        src.fetch(Z, X, Y)


@pytest.mark.parametrize('mode', ['truncated', 'corrupt'])
def test_bad_png_is_an_error_and_never_cached(server, tmp_path, mode):
    src = HttpTileSource(server.url, cache=tmp_path / 'c.sqlite')
    server.mode = mode
    with pytest.raises(TileDecodeError):
        src.fetch(Z, X, Y)
    assert src.cache.get(src.layer, Z, X, Y) is None
    server.mode = 'ok'
    np.testing.assert_array_equal(src.fetch(Z, X, Y), synthetic_tile(X, Y))


def test_cache_serves_after_server_stops_and_offline(tmp_path):
    server = TileServer()
    cache_path = tmp_path / 'c.sqlite'
    with HttpTileSource(server.url, cache=cache_path) as src:
        src.fetch(Z, X, Y)
    server.stop()
    with HttpTileSource(server.url, cache=cache_path, timeout_s=0.2, retries=0) as src:
        np.testing.assert_array_equal(src.fetch(Z, X, Y), synthetic_tile(X, Y))
        with pytest.raises(TileError):
            src.fetch(Z, X + 1, Y)
    with HttpTileSource(server.url, cache=cache_path, offline=True) as src:
        np.testing.assert_array_equal(src.fetch(Z, X, Y), synthetic_tile(X, Y))
        with pytest.raises(TileNotFound, match='offline'):
            src.fetch(Z, X + 1, Y)


def test_corrupt_cache_entry_is_refetched(server, tmp_path, caplog):
    cache_path = tmp_path / 'c.sqlite'
    src = HttpTileSource(server.url, cache=cache_path)
    src.fetch(Z, X, Y)
    db = sqlite3.connect(cache_path)
    db.execute('UPDATE tiles SET data = substr(data, 1, 100)')
    db.commit()
    with caplog.at_level(logging.WARNING):
        np.testing.assert_array_equal(src.fetch(Z, X, Y), synthetic_tile(X, Y))
    assert server.count() == 2
    assert 'corrupt' in caplog.text
    np.testing.assert_array_equal(src.fetch(Z, X, Y), synthetic_tile(X, Y))
    assert server.count() == 2


def test_cache_size_cap_evicts_least_recently_used(tmp_path):
    cache = TileCache(tmp_path / 'c.sqlite', max_bytes=1000)
    for i in range(5):
        cache.put('L', 1, 0, i, bytes([i]) * 300)
        time.sleep(0.002)
    assert cache.total_bytes <= 1000
    assert cache.get('L', 1, 0, 4) == bytes([4]) * 300
    assert cache.get('L', 1, 0, 0) is None
    reopened = TileCache(tmp_path / 'c.sqlite', max_bytes=1000)
    assert reopened.total_bytes == cache.total_bytes


def test_api_key_never_logged(server, monkeypatch, caplog):
    monkeypatch.setenv('TILE_KEY', 'hunter2')
    src = HttpTileSource(
        server.url + '?key={key}', api_key_env='TILE_KEY', timeout_s=0.2, retries=1
    )
    with caplog.at_level(logging.DEBUG):
        src.fetch(Z, X, Y)
        assert f'/{Z}/{X}/{Y}.png?key=***' in caplog.text  # urllib3 logged it, redacted
        server.stop()
        with pytest.raises(TileError) as info:
            src.fetch(Z, X, Y + 1)
    assert 'hunter2' not in str(info.value) and '***' in str(info.value)
    assert 'hunter2' not in caplog.text
