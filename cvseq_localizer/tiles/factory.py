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
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvseq_localizer.tiles.base import TileSource
from cvseq_localizer.tiles.cache import TileCache
from cvseq_localizer.tiles.directory import DirectoryTileSource
from cvseq_localizer.tiles.geotiff import GeoTiffSource
from cvseq_localizer.tiles.http import HttpTileSource
from cvseq_localizer.tiles.mbtiles import MBTilesSource

_FILE_KINDS = {'mbtiles': MBTilesSource, 'dir': DirectoryTileSource, 'geotiff': GeoTiffSource}


def open_tile_source(spec: str | dict[str, Any]) -> TileSource:
    """Open the tile source named by ``spec`` (see the module docstring)."""
    options: dict[str, Any] = {}
    if isinstance(spec, dict):
        options = dict(spec)
        if 'uri' not in options:
            raise ValueError(f'tile source dict needs a "uri" key, got keys {sorted(options)}')
        spec = str(options.pop('uri'))
    scheme, sep, rest = spec.partition('://')
    scheme = scheme.lower() if sep else ''
    try:
        if scheme in ('http', 'https', 'tms+http', 'tms+https'):
            return _http(spec, scheme, options)
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
