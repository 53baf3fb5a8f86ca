"""Synthetic tiles whose pixels encode their own world coordinates, and a decoder.

Encoding of the world pixel with integer index ``(wc, wr)`` (column, row at the tiles' pixel
zoom), chosen so that bilinear/area resampling inside a 16-px block stays exactly linear:

    R = 16 * (wc % 16) + 8          fine column inside its 16-px block (16 units per pixel)
    G = 16 * (wr % 16) + 8          fine row
    B = (37 * (wc // 16) + 101 * (wr // 16)) % 256      block identity (no short period)

Decoding a resampled pixel is exact only where its footprint stays inside one 16-px block, so
the checker keeps those pixels (selected from the *expected* coordinates only).
"""

from __future__ import annotations

import numpy as np


def block_id(bx: np.ndarray, by: np.ndarray) -> np.ndarray:
    return (37 * bx + 101 * by) % 256


def synthetic_tile(x: int, y: int, tile_px: int = 256) -> np.ndarray:
    """``tile_px x tile_px x 3`` uint8 RGB for XYZ tile column ``x``, row ``y``."""
    wr, wc = np.meshgrid(
        np.arange(tile_px) + y * tile_px, np.arange(tile_px) + x * tile_px, indexing='ij'
    )
    rgb = np.stack([16 * (wc % 16) + 8, 16 * (wr % 16) + 8, block_id(wc // 16, wr // 16)], -1)
    return rgb.astype(np.uint8)


def decode_errors(
    image: np.ndarray, wx: np.ndarray, wy: np.ndarray, footprint_px: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode ``image`` against expected corner-based world coordinates ``(wx, wy)`` (HxW each).

    Returns ``(err_x, err_y, valid)``: decoded minus expected world px, and the mask of pixels
    whose resampling footprint (``footprint_px`` half-width in source pixels) lies in one block.
    Invalid pixels get NaN errors; a wrong block id gives an error of ``inf``.
    """
    valid = np.ones(wx.shape, bool)
    decoded = []
    for chan, w in ((0, wx), (1, wy)):
        idx = w - 0.5  # pixel-index coordinate (centre of pixel i is at i + 0.5)
        lo = np.floor(idx - footprint_px) // 16
        hi = (np.floor(idx + footprint_px) + 1) // 16
        valid &= lo == hi
        decoded.append(16 * lo + (image[..., chan].astype(np.float64) - 8) / 16 + 0.5)
    bx = np.floor(wx - 0.5 - footprint_px) // 16
    by = np.floor(wy - 0.5 - footprint_px) // 16
    wrong_block = image[..., 2] != block_id(bx, by)
    err_x = np.where(valid, np.where(wrong_block, np.inf, decoded[0] - wx), np.nan)
    err_y = np.where(valid, np.where(wrong_block, np.inf, decoded[1] - wy), np.nan)
    return err_x, err_y, valid


class TileServer:
    """A real HTTP tile server on 127.0.0.1 (port 0) serving ``/{z}/{x}/{y}.png``.

    ``mode`` switches the behaviour of every request: 'ok', '404', '500', 'slow' (sleep
    ``delay_s`` then serve), 'truncated' (half the PNG, honest Content-Length), 'corrupt'
    (garbage bytes). ``fail_first`` makes that many requests answer HTTP 500 before serving.
    ``requests`` lists ``(path, headers)`` of every request received.
    """

    def __init__(self, tile_px: int = 256) -> None:
        import http.server
        import threading

        from cvseq_localizer.tiles import encode_tile

        self.tile_px = tile_px
        self.mode = 'ok'
        self.delay_s = 0.0
        self.fail_first = 0
        self.requests: list[tuple[str, dict]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # header and body leave without delayed-ACK waits

            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                server.requests.append((self.path, dict(self.headers)))
                body, status = server._answer(self.path, encode_tile)
                self.send_response(status)
                self.send_header('Content-Type', 'image/png')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={'poll_interval': 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self.port}/{{z}}/{{x}}/{{y}}.png'

    def _answer(self, path: str, encode) -> tuple[bytes, int]:
        import time

        if self.fail_first > 0:
            self.fail_first -= 1
            return b'busy', 500
        if self.mode in ('404', '500'):
            return b'no', int(self.mode)
        if self.mode == 'slow':
            time.sleep(self.delay_s)
        if self.mode == 'corrupt':
            return b'this is not a png', 200
        parts = path.split('?')[0].strip('/').split('/')
        _, x, y = int(parts[0]), int(parts[1]), int(parts[2].split('.')[0])
        png = encode(synthetic_tile(x, y, self.tile_px))
        return (png[: len(png) // 2], 200) if self.mode == 'truncated' else (png, 200)

    def count(self) -> int:
        return len(self.requests)

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
