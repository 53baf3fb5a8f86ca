"""cvseq-replay's tile cache options: --tiles-cache, --tiles-cache-max-mb, --tiles-offline."""

import argparse
import sqlite3

import pytest
from drive_kit import make_drive
from mbtiles_server import MBTilesServer

from cvseq_localizer.tiles.factory import CacheOptions, open_tile_source
from cvseq_localizer.tools.replay import (
    ReplayOptions,
    add_bag_args,
    main,
    pipeline_from_args,
    replay,
    tiles_with_cache,
)

URL = 'http://127.0.0.1:9/{z}/{x}/{y}.png'


@pytest.fixture(scope='module')
def drive(tmp_path_factory):
    return make_drive(tmp_path_factory.mktemp('drive'))


def test_cache_options_become_spec_options_of_an_http_source(tmp_path):
    cache = tmp_path / 'c.sqlite'
    spec = tiles_with_cache(f'{URL}#fetch_budget_s=2&cache=/x', CacheOptions(str(cache), 64, True))
    source = open_tile_source(spec)
    try:
        assert source.offline and source.cache is not None
        assert source.cache.path == cache and source.cache.max_bytes == 64 << 20
    finally:
        source.close()
    assert '#fetch_budget_s=2&' in spec  # the spec's own options stay


def test_cache_options_leave_a_file_source_alone_and_refuse_a_zero_cap(tmp_path):
    assert tiles_with_cache('mbtiles:///a.mbtiles', CacheOptions('/c.sqlite')) == (
        'mbtiles:///a.mbtiles'
    )
    with pytest.raises(ValueError, match='--tiles-cache-max-mb 0'):
        tiles_with_cache(URL, CacheOptions('/c.sqlite', 0))


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_bag_args(parser, 'bag')
    return parser.parse_args(list(argv))


def _replay(bag, out, *argv: str):
    args = _args(str(bag), '--out', str(out), *argv)
    options = ReplayOptions(progress=False, pipeline=pipeline_from_args(args, bag))
    return replay(bag, out, options)


def test_a_cache_filled_online_serves_an_offline_replay(drive, tmp_path):
    bag, model = drive
    server = MBTilesServer(bag.parent / 'tiles.mbtiles')
    cache = tmp_path / 'cache.sqlite'
    flags = ['--model', str(model), '--engine', 'torch', '--tiles', server.url]
    cache_flags = ['--tiles-cache', str(cache), '--tiles-cache-max-mb', '64']
    try:
        online = _replay(bag, tmp_path / 'online', *flags, *cache_flags)
    finally:
        server.stop()
    assert server.served > 0 and online.stats['frames_with_network'] > 0
    with sqlite3.connect(cache) as db:
        assert db.execute('SELECT COUNT(*) FROM tiles').fetchone()[0] == server.served
    offline = _replay(bag, tmp_path / 'offline', *flags, *cache_flags, '--tiles-offline')
    assert offline.stats['frames_with_network'] == online.stats['frames_with_network']
    assert offline.poses.net_lat_deg.tolist() == online.poses.net_lat_deg.tolist()


def test_offline_without_a_cache_is_a_cli_error(drive, tmp_path, capsys):
    bag, model = drive
    rc = main([str(bag), '--out', str(tmp_path / 'o'), '--model', str(model), '--tiles', URL,
               '--tiles-offline'])  # fmt: skip
    assert rc == 2
    assert 'offline tiles need a cache path' in capsys.readouterr().err
