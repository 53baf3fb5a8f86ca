"""A real HTTP tile server on 127.0.0.1 that serves an .mbtiles file and can fail on demand.

Used by the fault tests (``test/hostile``, ``test/ros``) and ``bench/bench_tile_outage.py``: the
simulated drive's ``tiles.mbtiles`` served as ``/{z}/{x}/{y}.png`` (XYZ rows), so a replay over
HTTP sees exactly the tiles of the file. ``stop()`` closes the socket (connection refused) and
``start()`` listens again on the same port.
"""

from __future__ import annotations

import http.server
import sqlite3
import threading
import time
from pathlib import Path

MODES = ('ok', '404', '500', 'slow', 'corrupt', 'truncated')


class MBTilesServer:
    """Serve ``path`` (an MBTiles file, TMS rows inside) over HTTP on 127.0.0.1.

    ``mode`` switches every request: 'ok', '404', '500', 'slow' (sleep ``delay_s`` then serve),
    'corrupt' (garbage bytes, HTTP 200), 'truncated' (half the PNG, honest Content-Length).
    ``requests`` counts the requests answered; ``served`` the tiles answered with real data.
    """

    def __init__(self, path: str | Path, port: int = 0) -> None:
        self.path = Path(path)
        self.mode = 'ok'
        self.delay_s = 0.0
        self.requests = 0
        self.served = 0
        self.port = port
        self._httpd: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.start()

    @property
    def url(self) -> str:
        """XYZ URL template of this server."""
        return f'http://127.0.0.1:{self.port}/{{z}}/{{x}}/{{y}}.png'

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def start(self) -> None:
        """Listen (again) on ``self.port`` (a free port the first time when it is 0)."""
        if self._httpd is not None:
            return
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def log_message(self, *args):  # keep test and bench output clean
                pass

            def do_GET(self):
                body, status = server._answer(self.path)
                self.send_response(status)
                self.send_header('Content-Type', 'image/png')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        httpd = http.server.ThreadingHTTPServer(('127.0.0.1', self.port), Handler)
        httpd.daemon_threads = True
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={'poll_interval': 0.02}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Close the listening socket: clients get 'connection refused' until :meth:`start`."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        assert self._thread is not None
        self._thread.join(timeout=5)
        self._httpd = None

    def _tile(self, z: int, x: int, y: int) -> bytes | None:
        db = sqlite3.connect(f'file:{self.path}?mode=ro', uri=True)
        try:
            row = db.execute(
                'SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?',
                (z, x, (1 << z) - 1 - y),
            ).fetchone()
        finally:
            db.close()
        return None if row is None else bytes(row[0])

    def _answer(self, path: str) -> tuple[bytes, int]:
        with self._lock:
            self.requests += 1
        mode = self.mode
        if mode in ('404', '500'):
            return b'no', int(mode)
        if mode == 'corrupt':
            return b'this is not a png', 200
        if mode == 'slow':
            time.sleep(self.delay_s)
        try:
            parts = path.split('?')[0].strip('/').split('/')
            z, x, y = int(parts[0]), int(parts[1]), int(parts[2].split('.')[0])
        except (IndexError, ValueError):
            return b'bad path', 400
        data = self._tile(z, x, y)
        if data is None:
            return b'no such tile', 404
        if mode == 'truncated':
            return data[: len(data) // 2], 200
        with self._lock:
            self.served += 1
        return data, 200
