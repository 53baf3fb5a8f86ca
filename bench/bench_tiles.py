"""Tile service benchmarks: warm covering-tile assembly and cold fetches from a local server.

Run: ``.venv/bin/python bench/bench_tiles.py``; prints JSON and writes bench/results/tiles.json.
The server on 127.0.0.1 serves JPEG tiles of noise (about 50 KB each, like aerial imagery).
"""

from __future__ import annotations

import concurrent.futures as cf
import http.server
import json
import platform
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from cvseq_localizer.geo import LocalFrame, tile_index
from cvseq_localizer.tiles import (
    HttpTileSource,
    SatelliteTileService,
    TileCache,
    TileServiceConfig,
    encode_tile,
)

LAT, LON, ZOOM = 49.0092, 8.4194, 20
RESULTS = Path(__file__).resolve().parent / 'results' / 'tiles.json'


def _serve() -> tuple[http.server.ThreadingHTTPServer, str]:
    rng = np.random.default_rng(0)
    bodies = [encode_tile(rng.integers(0, 256, (256, 256, 3), np.uint8), 'jpg') for _ in range(16)]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'
        disable_nagle_algorithm = True  # else header and body packets wait for delayed ACKs

        def log_message(self, *args):
            pass

        def do_GET(self):
            _, x, y = (int(p) for p in self.path.strip('/').removesuffix('.jpg').split('/'))
            body = bodies[(x * 7 + y) % len(bodies)]
            self.send_response(200)
            self.send_header('Content-Type', 'image/jpeg')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f'http://127.0.0.1:{httpd.server_address[1]}/{{z}}/{{x}}/{{y}}.jpg'


def _ms(seconds: list[float], q: float = 0.5) -> float:
    return round(1000 * float(np.quantile(seconds, q)), 3)


def bench_warm(url: str) -> dict[str, float]:
    """Assemble a new 256-px covering tile per query (one cell apart) from tiles in memory."""
    frame = LocalFrame(LAT, LON)
    config = TileServiceConfig(zoom=ZOOM, prefetch_radius_cells=40, deadline_s=None)
    with SatelliteTileService(HttpTileSource(url), config) as svc:
        svc.covering(LAT, LON)
        svc.wait_idle()
        new_cell, same_cell = [], []
        for i in range(60):
            lat, lon, _ = frame.to_geodetic(2.25 * (i % 30), 2.25 * (i // 30))
            t0 = time.perf_counter()
            tile = svc.covering(float(lat), float(lon), deadline_s=0.05)
            new_cell.append(time.perf_counter() - t0)
            assert tile.fresh, tile.reason
            t0 = time.perf_counter()
            svc.covering(float(lat), float(lon), deadline_s=0.05)
            same_cell.append(time.perf_counter() - t0)
    return {
        'warm_covering_p50_ms': _ms(new_cell),
        'warm_covering_p90_ms': _ms(new_cell, 0.9),
        'warm_same_cell_p50_ms': _ms(same_cell),
    }


def _fetch_3x3(source, x: int, y: int, workers: int) -> float:
    keys = [(ZOOM, x + dx, y + dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda k: source.fetch(*k), keys))
    return time.perf_counter() - t0


def bench_cold(url: str, workers: int, cache_dir: Path) -> dict[str, float]:
    """3x3 source tiles: cold from the server (fresh source, no cache), then from disk cache."""
    tx, ty, _ = tile_index(LAT, LON, ZOOM)
    cold, disk = [], []
    for i in range(10):
        cache = TileCache(cache_dir / f'c{i}.sqlite')
        with HttpTileSource(url, cache=cache) as src:
            cold.append(_fetch_3x3(src, tx + 10 * i, ty, workers))
        with HttpTileSource(url, cache=cache_dir / f'c{i}.sqlite', offline=True) as src:
            disk.append(_fetch_3x3(src, tx + 10 * i, ty, workers))
    config = TileServiceConfig(zoom=ZOOM, prefetch_radius_cells=0, workers=workers)
    first = []
    for i in range(5):
        lat, lon, _ = LocalFrame(LAT, LON).to_geodetic(500.0 * (i + 1), 0.0)
        with SatelliteTileService(HttpTileSource(url), config) as svc:
            t0 = time.perf_counter()
            assert svc.covering(float(lat), float(lon), deadline_s=None).fresh
            first.append(time.perf_counter() - t0)
    return {
        'cold_3x3_ms': round(1000 * statistics.median(cold), 3),
        'disk_cache_3x3_ms': round(1000 * statistics.median(disk), 3),
        'cold_first_covering_ms': round(1000 * statistics.median(first), 3),
        'fetch_workers': workers,
    }


def main() -> dict:
    httpd, url = _serve()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            results = {**bench_warm(url), **bench_cold(url, 2, Path(tmp))}
    finally:
        httpd.shutdown()
    results.update({'output_tile_px': 256, 'ground_m': 72.0, 'zoom': ZOOM})
    results['machine'] = f'{platform.machine()} {platform.python_version()}'
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + '\n')
    print(json.dumps(results, indent=2))
    return results


if __name__ == '__main__':
    main()
