"""Tiles cut from a north-up GeoTIFF orthophoto in EPSG:3857 or EPSG:4326, without GDAL.

``tifffile`` reads the raster and its GeoTIFF tags (``ModelPixelScale``, ``ModelTiepoint``,
GeoKeys); every XYZ tile is resampled from it with ``cv2.remap`` (bilinear). Rotated rasters
(``ModelTransformation``) and other CRSs (e.g. UTM) are rejected with a clear error: they need a
reprojection library (GDAL/rasterio, ~108 MB), which this package does not depend on.
The raster is memory-mapped when stored uncompressed and read whole otherwise.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import tifffile

from cvseq_localizer.geo import world_px_to_latlon, world_px_to_mercator_m
from cvseq_localizer.tiles.base import TileError, TileNotFound, check_index, check_tile_px

log = logging.getLogger(__name__)

MERCATOR_CODES = {3857, 3785, 900913, 102100, 102113}
WGS84_CODE = 4326
USER_DEFINED = 32767


class GeoTiffSource:
    """XYZ tiles resampled from a GeoTIFF (north-up, EPSG:3857 or EPSG:4326, uint8 RGB/gray).

    Tiles fully outside the raster raise ``TileNotFound``; parts outside are black.
    """

    def __init__(self, path: str | Path, tile_px: int = 256) -> None:
        self.path = Path(path)
        self.tile_px = check_tile_px(tile_px)
        self.name = f'geotiff:{self.path}'
        with tifffile.TiffFile(self.path) as tif:
            meta = tif.geotiff_metadata
            if not meta:
                raise TileError(f'{self.path} has no GeoTIFF tags')
            self.epsg = _epsg(meta, self.path)
            self.origin, self.res = _corner_and_res(meta, self.path)
        self._raster = _load_rgb(self.path)
        h, w = self._raster.shape[:2]
        log.info('%s: %dx%d px, EPSG:%d, res %s', self.name, w, h, self.epsg, self.res)

    def fetch(self, z: int, x: int, y: int) -> np.ndarray:
        """XYZ tile ``(z, x, y)`` as ``tile_px x tile_px x 3`` uint8 RGB."""
        check_index(z, x, y)
        zw = z + (self.tile_px // 256).bit_length() - 1  # zoom of the tile's pixels
        centres = np.arange(self.tile_px, dtype=np.float64) + 0.5
        wx, wy = x * self.tile_px + centres, y * self.tile_px + centres
        if self.epsg == WGS84_CODE:
            lat, lon = world_px_to_latlon(np.full_like(wy, wx[0]), wy, zw)
            _, lon = world_px_to_latlon(wx, np.full_like(wx, wy[0]), zw)
            cx, cy = lon, lat
        else:
            cx, _ = world_px_to_mercator_m(wx, wy[0], zw)
            _, cy = world_px_to_mercator_m(wx[0], wy, zw)
        # Raster pixel coordinates in OpenCV's centre convention (pixel i's centre at i).
        cols = (cx - self.origin[0]) / self.res[0] - 0.5
        rows = (self.origin[1] - cy) / self.res[1] - 0.5
        return self._sample(cols, rows, (z, x, y))

    def _sample(self, cols: np.ndarray, rows: np.ndarray, key: tuple) -> np.ndarray:
        h, w = self._raster.shape[:2]
        c0, c1 = int(np.floor(cols.min())) - 1, int(np.ceil(cols.max())) + 2
        r0, r1 = int(np.floor(rows.min())) - 1, int(np.ceil(rows.max())) + 2
        c0, r0, c1, r1 = max(c0, 0), max(r0, 0), min(c1, w), min(r1, h)
        if c0 >= c1 or r0 >= r1:
            raise TileNotFound(
                f'{self.name}: tile {"/".join(map(str, key))} is outside the raster'
            )
        window = np.ascontiguousarray(self._raster[r0:r1, c0:c1])
        map_x, map_y = np.meshgrid((cols - c0).astype(np.float32), (rows - r0).astype(np.float32))
        return cv2.remap(window, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)

    def close(self) -> None:
        self._raster = None

    def __enter__(self) -> GeoTiffSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _epsg(meta: dict, path: Path) -> int:
    projected = int(meta.get('ProjectedCSTypeGeoKey', 0) or 0)
    geographic = int(meta.get('GeographicTypeGeoKey', 0) or 0)
    if projected in MERCATOR_CODES:
        return 3857
    if not projected and geographic == WGS84_CODE:
        return WGS84_CODE
    found = projected or geographic or 'unknown'
    raise TileError(
        f'{path}: CRS EPSG:{found} is not supported (only EPSG:3857 or EPSG:4326 north-up); '
        'reproject it first, e.g. gdalwarp -t_srs EPSG:3857'
    )


def _corner_and_res(meta: dict, path: Path) -> tuple[tuple[float, float], tuple[float, float]]:
    """Top-left corner (CRS units) of pixel (0, 0) and pixel size ``(dx, dy)`` (both > 0)."""
    if 'ModelTransformation' in meta or 'ModelPixelScale' not in meta:
        raise TileError(f'{path}: only north-up rasters (ModelPixelScale + ModelTiepoint) work')
    dx, dy = float(meta['ModelPixelScale'][0]), float(meta['ModelPixelScale'][1])
    tie = [float(v) for v in meta['ModelTiepoint'][:6]]
    if dx <= 0 or dy <= 0:
        raise TileError(f'{path}: pixel scale ({dx}, {dy}) must be positive (north-up)')
    i, j = tie[0], tie[1]
    if int(meta.get('GTRasterTypeGeoKey', 1)) == 2:  # PixelIsPoint: tiepoint at pixel centres
        i, j = i + 0.5, j + 0.5
    return (tie[3] - i * dx, tie[4] + j * dy), (dx, dy)


def _load_rgb(path: Path) -> np.ndarray:
    try:
        raster = tifffile.memmap(path, mode='r')
    except ValueError:  # compressed or tiled: read it whole
        raster = tifffile.imread(path)
    if raster.dtype != np.uint8:
        raise TileError(f'{path}: pixel type {raster.dtype} is not supported (uint8 only)')
    if raster.ndim == 2:
        return np.repeat(raster[..., None], 3, axis=2)
    if raster.ndim == 3 and raster.shape[2] in (3, 4):
        return raster[..., :3]
    raise TileError(f'{path}: raster of shape {raster.shape} is not gray, RGB or RGBA')
