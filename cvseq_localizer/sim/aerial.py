"""The satellite view of a ``World``: any georeferenced footprint, and XYZ tile pyramids.

For every output pixel: pixel -> ENU through ``GeoImage.pixel_to_enu`` (exact, pyproj) -> world
raster pixel (``EnuGrid``) -> ``cv2.remap``. The exact conversion runs on a 17 x 17 control grid
and is bilinearly interpolated in between: Web Mercator -> ENU is smooth enough that this is off
by well under a millimetre over a tile (tested), and it keeps a 256-px tile at about 1 ms.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from cvseq_localizer.geo import TILE_PX, GeoImage, tile_index
from cvseq_localizer.sim.world import World
from cvseq_localizer.tiles.base import TileWriter, encode_tile

log = logging.getLogger(__name__)

CONTROL_POINTS = 17  # exact conversions per image axis
OUTSIDE_RGB = (96, 112, 72)  # colour of everything outside the simulated world


def _linear_index(n_out: int, n_ctrl: int) -> tuple[np.ndarray, np.ndarray]:
    """Left control index and weight of the right one for ``n_out`` evenly spread samples."""
    t = np.arange(n_out) / max(n_out - 1, 1) * (n_ctrl - 1)
    i0 = np.clip(np.floor(t).astype(np.intp), 0, max(n_ctrl - 2, 0))
    return i0, t - i0


def _upsample(ctrl: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bilinear interpolation of an ``(nv, nu)`` control grid spanning the first to last pixel.

    Written with gathers rather than matrix products: tiny BLAS calls stall badly when other
    processes load the CPU.
    """
    nv, nu = ctrl.shape
    iu, fu = _linear_index(w, nu)
    iv, fv = _linear_index(h, nv)
    rows = ctrl[:, iu] * (1 - fu) + ctrl[:, iu + 1] * fu
    return rows[iv] * (1 - fv)[:, None] + rows[iv + 1] * fv[:, None]


def raster_maps(world: World, geo: GeoImage) -> tuple[np.ndarray, np.ndarray]:
    """``(u, v)`` world-raster pixel (corner-based, float64 ``H x W``) under each pixel centre."""
    h, w = geo.height, geo.width
    nu, nv = min(CONTROL_POINTS, max(w, 2)), min(CONTROL_POINTS, max(h, 2))
    uc = 0.5 + np.linspace(0.0, w - 1.0, nu)
    vc = 0.5 + np.linspace(0.0, h - 1.0, nv)
    east, north = geo.pixel_to_enu(uc[None, :], vc[:, None], world.frame)
    ru, rv = world.grid.enu_to_px(east, north)
    return _upsample(ru, h, w), _upsample(rv, h, w)


def render_aerial(world: World, geo: GeoImage) -> np.ndarray:
    """``geo.height x geo.width x 3`` uint8 orthophoto of the footprint of ``geo``.

    A pyramid level of the world's aerial image is chosen so that minification is at most 2x
    (no aliasing); areas outside the world are ``OUTSIDE_RGB``.
    """
    ru, rv = raster_maps(world, geo)
    out_m = float(np.mean(geo.metres_per_pixel()))
    ratio = out_m / world.grid.res_m
    level = int(np.clip(np.floor(np.log2(max(ratio, 1.0))), 0, len(world.aerial_pyramid) - 1))
    scale = 0.5**level
    map_x = (ru * scale - 0.5).astype(np.float32)
    map_y = (rv * scale - 0.5).astype(np.float32)
    return cv2.remap(
        world.aerial_pyramid[level],
        map_x,
        map_y,
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=OUTSIDE_RGB,
    )


def tile_geoimage(z: int, x: int, y: int, tile_px: int = TILE_PX) -> GeoImage:
    """An empty ``GeoImage`` with the footprint of XYZ tile ``(z, x, y)``."""
    scale = TILE_PX / tile_px
    origin = (float(x * TILE_PX), float(y * TILE_PX))
    return GeoImage(np.zeros((tile_px, tile_px, 3), np.uint8), int(z), origin, (scale, scale))


def covering_tiles(world: World, zoom: int) -> list[tuple[int, int, int]]:
    """XYZ ``(z, x, y)`` of every tile that overlaps the world square at ``zoom``."""
    east_max, north_min = world.grid.px_to_enu(world.grid.width_px, world.grid.height_px)
    corners_e = np.array([world.grid.east_min_m, east_max, east_max, world.grid.east_min_m])
    corners_n = np.array([world.grid.north_max_m, world.grid.north_max_m, north_min, north_min])
    lat, lon, _ = world.frame.to_geodetic(corners_e, corners_n)
    xs, ys = [], []
    for la, lo in zip(lat, lon):
        tx, ty, _ = tile_index(float(la), float(lo), zoom)
        xs.append(tx)
        ys.append(ty)
    return [(zoom, x, y) for y in range(min(ys), max(ys) + 1) for x in range(min(xs), max(xs) + 1)]


def write_tile_pyramid(
    world: World, writer: TileWriter, zooms: tuple[int, ...] = (19,), fmt: str = 'png'
) -> int:
    """Render every 256-px XYZ tile covering the world at ``zooms`` into ``writer``.

    Returns:
        the number of tiles written.
    """
    count = 0
    for zoom in zooms:
        for z, x, y in covering_tiles(world, zoom):
            rgb = render_aerial(world, tile_geoimage(z, x, y))
            writer.put(z, x, y, encode_tile(rgb, fmt))
            count += 1
    log.info('wrote %d tiles at zoom(s) %s', count, list(zooms))
    return count
