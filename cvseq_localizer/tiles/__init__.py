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
from cvseq_localizer.tiles.cache import TileCache
from cvseq_localizer.tiles.directory import DirectoryTileSource, DirectoryTileWriter
from cvseq_localizer.tiles.factory import open_tile_source
from cvseq_localizer.tiles.geotiff import GeoTiffSource
from cvseq_localizer.tiles.http import HttpTileSource
from cvseq_localizer.tiles.lattice import Lattice
from cvseq_localizer.tiles.mbtiles import MBTilesSource, MBTilesWriter
from cvseq_localizer.tiles.service import CoveringTile, SatelliteTileService, TileServiceConfig

__all__ = [
    'CoveringTile',
    'GeoTiffSource',
    'HttpTileSource',
    'Lattice',
    'SatelliteTileService',
    'TileCache',
    'TileServiceConfig',
    'open_tile_source',
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
