"""XYZ/TMS tiles over HTTP(S) from a URL template, with retries, timeouts and a persistent cache.

Template placeholders: ``{z}``, ``{x}``, ``{y}`` (XYZ row, any order, e.g. Esri's
``{z}/{y}/{x}``), ``{-y}`` (TMS row ``2**z - 1 - y``; or pass ``tms=True`` to flip ``{y}``),
``{q}`` (Bing quadkey), ``{s}`` (subdomain) and ``{key}`` (API key read from the environment
variable named by ``api_key_env``; alternatively ``api_key_param`` appends it as a query
parameter). The key is never logged: every message passes through ``redact``.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import requests
from requests.adapters import HTTPAdapter

from cvseq_localizer.geo import quadkey, tms_row
from cvseq_localizer.tiles.base import (
    TileDecodeError,
    TileError,
    TileNotFound,
    check_index,
    check_tile_px,
    decode_tile,
)
from cvseq_localizer.tiles.cache import TileCache

log = logging.getLogger(__name__)

USER_AGENT = 'cvseq_localizer/0.1 (+https://example.com/cvseq_localizer; satellite tiles)'
_KNOWN = {'z', 'x', 'y', '-y', 'q', 's', 'key'}
# Status codes worth retrying (server overload or transient faults).
RETRY_STATUS = (429, 500, 502, 503, 504)


class _SecretFilter(logging.Filter):
    """Redacts registered API keys from records of the loggers it is attached to (urllib3 logs
    request URLs, with their query strings, at DEBUG and on every retry at WARNING)."""

    secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            for secret in self.secrets:
                message = message.replace(secret, '***')
            record.msg, record.args = message, ()
        return True


_SECRET_FILTER = _SecretFilter()
for _name in ('urllib3.connectionpool', 'urllib3.util.retry', 'requests'):
    logging.getLogger(_name).addFilter(_SECRET_FILTER)


def check_template(template: str) -> None:
    """Raise ``ValueError`` if ``template`` cannot address every tile."""
    tokens = set(re.findall(r'\{([^}]*)\}', template))
    unknown = tokens - _KNOWN
    if unknown:
        raise ValueError(
            f'URL template has unknown placeholders {sorted(unknown)}; known {_KNOWN}'
        )
    if not ('q' in tokens or ({'z', 'x'} <= tokens and tokens & {'y', '-y'})):
        raise ValueError('URL template needs {z}, {x} and {y} (or {-y}), or {q}')


class HttpTileSource:
    """Tiles from an HTTP(S) URL template (see the module docstring for placeholders).

    Args:
        template: URL template.
        tile_px: tile edge in pixels (256, or 512 for e.g. Mapbox ``@2x``).
        tms: rows count from the south (``{y}`` is filled with the TMS row).
        api_key_env: environment variable holding the API key (read once, never logged).
        api_key_param: query parameter for the key when the template has no ``{key}``.
        subdomains: letters for ``{s}``.
        timeout_s: connect and read timeout per attempt in seconds.
        retries: extra attempts on connection errors, timeouts and HTTP 429/5xx.
        backoff_s: delay before the n-th extra attempt is ``backoff_s * 2**(n-1)`` seconds.
        fetch_budget_s: total time one ``download`` may take over all its attempts and waits
            (each attempt's timeout is cut to what is left); ``None``: attempts x timeout.
        cache: a ``TileCache`` or a path to one; tiles in the cache are served without network.
        offline: never use the network; a cache miss raises ``TileNotFound``.
        layer: cache namespace; default: the redacted template and tile size.
    """

    def __init__(
        self,
        template: str,
        *,
        tile_px: int = 256,
        tms: bool = False,
        api_key_env: str | None = None,
        api_key_param: str | None = None,
        subdomains: str = 'abc',
        timeout_s: float = 5.0,
        retries: int = 2,
        backoff_s: float = 0.2,
        fetch_budget_s: float | None = 6.0,
        user_agent: str = USER_AGENT,
        cache: TileCache | str | Path | None = None,
        offline: bool = False,
        layer: str | None = None,
    ) -> None:
        check_template(template)
        self.template = template
        self.tile_px = check_tile_px(tile_px)
        self.tms = bool(tms)
        self._key = self._read_key(template, api_key_env, api_key_param)
        self._key_param = api_key_param
        self.subdomains = subdomains or 'a'
        self.timeout_s = float(timeout_s)
        self.offline = bool(offline)
        self.cache = TileCache(cache) if isinstance(cache, (str, Path)) else cache
        if self.offline and self.cache is None:
            raise ValueError('offline mode needs a cache to read tiles from')
        self.name = f'http:{self.redact(template)}'
        self.layer = layer or f'{self.redact(template)}@{self.tile_px}{"+tms" if tms else ""}'
        if retries < 0 or backoff_s < 0 or (fetch_budget_s is not None and fetch_budget_s <= 0):
            raise ValueError(
                f'retries {retries!r} and backoff_s {backoff_s!r} must be >= 0, fetch_budget_s '
                f'{fetch_budget_s!r} > 0 or None'
            )
        self.retries = int(retries)
        self.backoff_s = float(backoff_s)
        self.fetch_budget_s = None if fetch_budget_s is None else float(fetch_budget_s)
        self._headers = {'User-Agent': user_agent}
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    @staticmethod
    def _read_key(template: str, env: str | None, param: str | None) -> str:
        if '{key}' not in template and not param:
            return ''
        if not env:
            raise ValueError(
                'the URL needs an API key: set api_key_env to the variable holding it'
            )
        key = os.environ.get(env, '')
        if not key:
            raise ValueError(f'environment variable {env} (tile server API key) is not set')
        _SecretFilter.secrets.add(key)
        return key

    def redact(self, text: str) -> str:
        """``text`` with the API key replaced by ``***``."""
        key = getattr(self, '_key', '')
        return text.replace(key, '***') if key else text

    def url(self, z: int, x: int, y: int) -> str:
        """The URL of XYZ tile ``(z, x, y)`` (contains the API key: do not log it)."""
        row = tms_row(y, z) if self.tms else y
        url = (
            self.template.replace('{z}', str(z))
            .replace('{x}', str(x))
            .replace('{-y}', str(tms_row(y, z)))
            .replace('{y}', str(row))
            .replace('{q}', quadkey(x, y, z) if '{q}' in self.template else '')
            .replace('{s}', self.subdomains[(x + y) % len(self.subdomains)])
            .replace('{key}', self._key)
        )
        if self._key_param and '{key}' not in self.template:
            url += ('&' if '?' in url else '?') + urlencode({self._key_param: self._key})
        return url

    def fetch(self, z: int, x: int, y: int) -> np.ndarray:
        """XYZ tile ``(z, x, y)`` as ``tile_px x tile_px x 3`` uint8 RGB (cache first)."""
        return self._fetch(z, x, y)[1]

    def fetch_bytes(self, z: int, x: int, y: int) -> bytes:
        """The encoded bytes of tile ``(z, x, y)`` as served, checked by decoding (cache first)."""
        return self._fetch(z, x, y)[0]

    def _fetch(self, z: int, x: int, y: int) -> tuple[bytes, np.ndarray]:
        check_index(z, x, y)
        cached = self.cache.get(self.layer, z, x, y) if self.cache else None
        if cached is not None:
            try:
                return cached, decode_tile(cached, self.tile_px, f'cached tile {z}/{x}/{y}')
            except TileDecodeError as err:
                log.warning('%s: %s; refetching', self.name, err)
                self.cache.discard(self.layer, z, x, y)
        if self.offline:
            raise TileNotFound(f'{self.name}: tile {z}/{x}/{y} is not in the cache (offline mode)')
        data = self.download(z, x, y)
        image = decode_tile(data, self.tile_px, f'{self.name} tile {z}/{x}/{y}')
        if self.cache:
            self.cache.put(self.layer, z, x, y, data)
        return data, image

    def download(self, z: int, x: int, y: int) -> bytes:
        """Raw bytes of tile ``(z, x, y)`` from the server (no cache).

        Connection errors, timeouts and HTTP 429/5xx are retried ``retries`` times with
        exponential back-off, all within ``fetch_budget_s`` seconds.
        """
        url = self.url(z, x, y)
        start = time.monotonic()
        for attempt in range(self.retries + 1):
            if attempt:
                wait = self.backoff_s * 2 ** (attempt - 1)
                if self._left(start) <= wait:
                    break
                time.sleep(wait)
            try:
                resp = self._session().get(url, timeout=min(self.timeout_s, self._left(start)))
            except requests.RequestException as err:
                # `from None`: the chained exception's text would carry the API key.
                problem = f'GET {self.redact(url)} failed: {self.redact(str(err))}'
                continue
            if resp.status_code in (404, 204):
                raise TileNotFound(f'{self.name}: HTTP {resp.status_code} for tile {z}/{x}/{y}')
            if resp.status_code == 200:
                return resp.content
            problem = f'HTTP {resp.status_code} for {self.redact(url)}'
            if resp.status_code not in RETRY_STATUS:
                break
        spent = time.monotonic() - start
        raise TileError(f'{self.name}: {problem} (gave up after {spent:.1f} s)') from None

    def _left(self, start: float) -> float:
        """Seconds left of the fetch budget of a download that began at ``start``."""
        if self.fetch_budget_s is None:
            return math.inf
        return self.fetch_budget_s - (time.monotonic() - start)

    def _session(self) -> requests.Session:
        """One ``requests.Session`` per thread (sessions are not thread-safe)."""
        session = getattr(self._local, 'session', None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(max_retries=0, pool_maxsize=4)  # retries: see download
            session.mount('http://', adapter)
            session.mount('https://', adapter)
            session.headers.update(self._headers)
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        """Close every thread's HTTP session and the cache."""
        with self._sessions_lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()
        if self.cache:
            self.cache.close()

    def __enter__(self) -> HttpTileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
