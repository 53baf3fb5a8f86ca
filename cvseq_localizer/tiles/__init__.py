"""Satellite tiles: sources (HTTP XYZ/TMS, MBTiles, directory, GeoTIFF), writers, a persistent
cache and the ``SatelliteTileService`` (grid-snapped covering tiles with background prefetch)."""

from cvseq_localizer.tiles.base import (
    TileDecodeError,
    TileError,
    TileNotFound,
    TileSource,
    TileWriter,
    decode_tile,
    encode_tile,
)
from cvseq_localizer.tiles.directory import DirectoryTileSource, DirectoryTileWriter
from cvseq_localizer.tiles.mbtiles import MBTilesSource, MBTilesWriter

__all__ = [
    'DirectoryTileSource',
    'DirectoryTileWriter',
    'MBTilesSource',
    'MBTilesWriter',
    'TileDecodeError',
    'TileError',
    'TileNotFound',
    'TileSource',
    'TileWriter',
    'decode_tile',
    'encode_tile',
]
