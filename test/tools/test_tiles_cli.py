import http.server
import sqlite3
import threading

import mercantile
import numpy as np
import pytest

from cvseq_localizer.geo import LocalFrame
from cvseq_localizer.tiles import MBTilesSource, encode_tile
from cvseq_localizer.tools.tiles_cli import main

LAT, LON, Z = 49.0092, 8.4194, 18


def _colour(x: int, y: int) -> np.ndarray:
    return np.full((256, 256, 3), (x % 251, y % 241, (x + y) % 239), np.uint8)


@pytest.fixture
def server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            z, x, y = (int(p) for p in self.path.strip('/').removesuffix('.png').split('/'))
            body = encode_tile(_colour(x, y))
            self.send_response(200)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={'poll_interval': 0.02})
    thread.start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}/{{z}}/{{x}}/{{y}}.png'
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _stored(path) -> set[tuple[int, int, int]]:
    db = sqlite3.connect(path)
    rows = db.execute('SELECT zoom_level, tile_column, tile_row FROM tiles').fetchall()
    return {(z, x, (1 << z) - 1 - r) for z, x, r in rows}


def test_prefill_bbox_then_resume_offline(server, tmp_path, capsys):
    out = tmp_path / 'area.mbtiles'
    bbox = (LON - 0.004, LAT - 0.003, LON + 0.004, LAT + 0.003)
    argv = ['prefill', '--source', server, '--out', str(out), '--zoom', str(Z), '--quiet']
    assert main(argv + ['--bbox', ','.join(map(str, bbox))]) == 0
    expected = {(t.z, t.x, t.y) for t in mercantile.tiles(*bbox, zooms=[Z])}
    assert _stored(out) == expected and len(expected) >= 6
    with MBTilesSource(out) as src:
        assert src.metadata['format'] == 'png' and src.metadata['maxzoom'] == str(Z)
        for z, x, y in expected:
            np.testing.assert_array_equal(src.fetch(z, x, y), _colour(x, y))
    assert f'{len(expected)} written' in capsys.readouterr().out
    dead = 'http://127.0.0.1:9/{z}/{x}/{y}.png'  # nothing listens: every tile must be skipped
    argv[2] = dead
    assert main(argv + ['--bbox', ','.join(map(str, bbox))]) == 0
    assert f'0 written, {len(expected)} already there' in capsys.readouterr().out


@pytest.mark.parametrize('kind', ['gpx', 'csv'])
def test_prefill_along_route_covers_the_buffer(server, tmp_path, kind):
    frame = LocalFrame(LAT, LON)
    east = np.linspace(0.0, 400.0, 5)
    lat, lon, _ = frame.to_geodetic(east, np.zeros_like(east))
    route = tmp_path / f'drive.{kind}'
    if kind == 'gpx':
        pts = ''.join(f'<trkpt lat="{float(a)!r}" lon="{float(o)!r}"/>' for a, o in zip(lat, lon))
        route.write_text(
            '<gpx xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
            f'{pts}</trkseg></trk></gpx>'
        )
    else:
        route.write_text(
            'time,latitude,longitude\n'
            + ''.join(f'{i},{float(a)!r},{float(o)!r}\n' for i, (a, o) in enumerate(zip(lat, lon)))
        )
    out = tmp_path / 'route.mbtiles'
    argv = ['prefill', '--source', server, '--out', str(out), '--zoom', str(Z), '--quiet']
    assert main(argv + ['--route', str(route), '--buffer-m', '80']) == 0
    stored = _stored(out)
    # Every point within 75 m (north/south/along) of the route lies in a stored tile...
    for e in np.linspace(-75.0, 475.0, 23):
        for n in (-75.0, 0.0, 75.0):
            la, lo, _ = frame.to_geodetic(e, n)
            assert (Z, *mercantile.tile(float(lo), float(la), Z)[:2]) in stored, (e, n)
    # ...and no tile lies entirely farther than the buffer from it.
    for z, x, y in stored:
        b = mercantile.bounds(x, y, z)
        e0, n0, _ = frame.to_enu(b.north, b.west)
        e1, n1, _ = frame.to_enu(b.south, b.east)
        assert e1 >= -80.5 and e0 <= 480.5 and n0 >= -80.5 and n1 <= 80.5


def test_bad_arguments_exit_with_a_message(tmp_path, capsys):
    route = tmp_path / 'r.csv'
    route.write_text('a,b\n1,2\n')
    argv = ['prefill', '--source', 'mbtiles:///nope.mbtiles', '--out', str(tmp_path / 'o.mbtiles')]
    assert main(argv + ['--zoom', '18', '--bbox', '1,2,3,4']) == 2
    assert 'does not exist' in capsys.readouterr().err
    argv[2] = f'dir://{tmp_path}'
    assert main(argv + ['--zoom', '18', '--route', str(route)]) == 2
    assert 'lat/latitude' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(['prefill', '--source', 'x'])
