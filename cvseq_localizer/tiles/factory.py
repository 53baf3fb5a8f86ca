"""``open_tile_source``: name a tile source in one string (or a dict with options).

Strings:
    ``mbtiles:///abs/path.mbtiles`` or a path ending in ``.mbtiles``  -> ``MBTilesSource``
    ``dir:///abs/root`` (``root/z/x/y.png``)                          -> ``DirectoryTileSource``
    ``geotiff:///abs/ortho.tif`` or a path ending in ``.tif(f)``      -> ``GeoTiffSource``
    ``https://host/{z}/{x}/{y}.png`` (any template, see ``http.py``)   -> ``HttpTileSource``
    ``tms+https://host/{z}/{x}/{y}.png``: the same with TMS rows.
A relative path after the scheme (``mbtiles://rel/t.mbtiles``) is taken relative to the working
directory. A dict holds the string under ``uri`` and the class's keyword options next to it,
e.g. ``{'uri': 'https://...', 'tile_px': 512, 'api_key_env': 'MAPTILER_KEY',
'cache': '.cache/tiles.sqlite', 'cache_max_mb': 2048, 'offline': False}``.

Options in a string: after ``#`` (a URL fragment is never sent to the server), ``&``-separated
``key=value`` pairs, e.g. ``https://host/{z}/{x}/{y}.png#cache=.cache/t.sqlite&cache_max_mb=512
&offline=false&fetch_budget_s=4``. Values are read as ints, floats or booleans
(``true/false/yes/no/on/off``) where they look like one. The disk cache can also be passed
as a ``CacheOptions`` (the node's and cvseq-replay's cache parameters), which wins over the spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from cvseq_localizer.tiles.base import TileSource
from cvseq_localizer.tiles.cache import TileCache
from cvseq_localizer.tiles.directory import DirectoryTileSource
from cvseq_localizer.tiles.geotiff import GeoTiffSource
from cvseq_localizer.tiles.http import HttpTileSource
from cvseq_localizer.tiles.mbtiles import MBTilesSource

_FILE_KINDS = {'mbtiles': MBTilesSource, 'dir': DirectoryTileSource, 'geotiff': GeoTiffSource}
_BOOLS = {'true': True, 'yes': True, 'on': True, 'false': False, 'no': False, 'off': False}


@dataclass(frozen=True)
class CacheOptions:
    """The persistent tile cache of an HTTP source.

    Attributes:
        path: sqlite file of the cache (``''``: no cache).
        max_mb: size cap in MiB (least recently used tiles are evicted); ``0``: unbounded.
        offline: never use the network, serve from the cache only (needs ``path``).
    """

    path: str = ''
    max_mb: int = 2048
    offline: bool = False

    def __post_init__(self) -> None:
        if self.max_mb < 0:
            raise ValueError(f'tile cache size {self.max_mb} MiB must be >= 0')
        if self.offline and not self.path:
            raise ValueError('offline tiles need a cache path to read them from')

    def as_options(self) -> dict[str, Any]:
        """The ``open_tile_source`` options for this cache (empty without a path)."""
        if not self.path:
            return {}
        return {'cache': self.path, 'cache_max_mb': self.max_mb or None, 'offline': self.offline}


def open_tile_source(spec: str | dict[str, Any], cache: CacheOptions | None = None) -> TileSource:
    """Open the tile source named by ``spec`` (see the module docstring).

    Args:
        spec: the source string (options after ``#``) or dict.
        cache: a disk cache for an HTTP source (overrides the spec's cache options; file
            sources are local already and ignore it).
    """
    options: dict[str, Any] = {}
    if isinstance(spec, dict):
        options = dict(spec)
        if 'uri' not in options:
            raise ValueError(f'tile source dict needs a "uri" key, got keys {sorted(options)}')
        spec = str(options.pop('uri'))
    spec, _, fragment = str(spec).partition('#')
    try:
        options.update(parse_spec_options(fragment))
    except ValueError as err:
        raise ValueError(
            f'bad options {fragment!r} after # in tile source {spec!r}: {err}'
        ) from None
    scheme, sep, rest = spec.partition('://')
    scheme = scheme.lower() if sep else ''
    try:
        if scheme in ('http', 'https', 'tms+http', 'tms+https'):
            return _http(spec, scheme, {**options, **(cache.as_options() if cache else {})})
        if scheme in _FILE_KINDS:
            return _FILE_KINDS[scheme](Path(rest), **options)
        if not sep:
            return _by_suffix(Path(spec), options)
    except TypeError as err:  # an option the class does not take
        raise ValueError(f'bad options for tile source {spec!r}: {err}') from None
    raise ValueError(
        f'unknown tile source {spec!r}: use mbtiles://, dir://, geotiff://, http(s):// '
        'or a path ending in .mbtiles/.tif'
    )


def parse_spec_options(text: str) -> dict[str, Any]:
    """``'a=1&b=x'`` -> ``{'a': 1, 'b': 'x'}`` (ints, floats and booleans converted)."""
    options: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text)):
        options[key] = _value(value)
    return options


def _value(text: str) -> Any:
    if text.lower() in _BOOLS:
        return _BOOLS[text.lower()]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _http(spec: str, scheme: str, options: dict[str, Any]) -> HttpTileSource:
    if scheme.startswith('tms+'):
        spec = spec[len('tms+') :]
        options.setdefault('tms', True)
    cache = options.pop('cache', None)
    cache_max_mb = options.pop('cache_max_mb', 2048)
    if isinstance(cache, (str, Path)):
        cache = TileCache(cache, max_bytes=None if cache_max_mb is None else cache_max_mb << 20)
    return HttpTileSource(spec, cache=cache, **options)


def _by_suffix(path: Path, options: dict[str, Any]) -> TileSource:
    suffix = path.suffix.lower()
    if suffix == '.mbtiles':
        return MBTilesSource(path, **options)
    if suffix in ('.tif', '.tiff'):
        return GeoTiffSource(path, **options)
    if path.is_dir():
        return DirectoryTileSource(path, **options)
    raise ValueError(f'cannot tell what kind of tile source {str(path)!r} is')
