"""Web Mercator (EPSG:3857) world-pixel math and exact ground resolution.

World pixels at zoom ``z`` use 256-px tiles: the world is ``n = 256 * 2**z`` pixels wide, x grows
east from longitude -180, y grows south from latitude +85.0511. Pixel coordinates are
corner-based: ``(0.0, 0.0)`` is the top-left corner of the world, the centre of the first pixel is
``(0.5, 0.5)``.

Tile indices come from ``mercantile``; the per-pixel maths is written out here because mercantile
works on whole tiles and in degrees only, and we need vectorised, sub-pixel, invertible
conversions (FACTS.md section 3).
"""

from __future__ import annotations

import math

import mercantile
import numpy as np

TILE_PX = 256
MAX_LAT_DEG = 85.0511287798066
# WGS84 first eccentricity squared.
WGS84_E2 = 0.00669437999014
# Equatorial metres per world pixel at zoom 0 on the sphere (2 * pi * 6378137 / 256).
EQUATOR_M_PER_PX_Z0 = 156543.03392804097


def _as_array(value: float | np.ndarray) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


def check_latlon(lat_deg: float | np.ndarray, lon_deg: float | np.ndarray) -> None:
    """Raise ``ValueError`` naming the value if a lat/lon is unusable in Web Mercator."""
    lat = _as_array(lat_deg)
    lon = _as_array(lon_deg)
    bad_lat = ~np.isfinite(lat) | (np.abs(lat) > MAX_LAT_DEG)
    if np.any(bad_lat):
        value = float(lat[bad_lat].flat[0]) if lat.ndim else float(lat)
        raise ValueError(
            f'latitude {value!r} deg is not a finite value within +/-{MAX_LAT_DEG:.4f} deg '
            '(Web Mercator limit)'
        )
    bad_lon = ~np.isfinite(lon) | (np.abs(lon) > 180.0)
    if np.any(bad_lon):
        value = float(lon[bad_lon].flat[0]) if lon.ndim else float(lon)
        raise ValueError(f'longitude {value!r} deg is not a finite value within [-180, 180] deg')


def world_size_px(zoom: int) -> float:
    """Width (= height) of the world in pixels at ``zoom``."""
    if not 0 <= int(zoom) <= 30:
        raise ValueError(f'zoom {zoom!r} is outside [0, 30]')
    return float(TILE_PX * 2 ** int(zoom))


def latlon_to_world_px(
    lat_deg: float | np.ndarray, lon_deg: float | np.ndarray, zoom: int
) -> tuple[np.ndarray, np.ndarray]:
    """Latitude/longitude (degrees) -> world pixel ``(x, y)`` at ``zoom`` (corner-based)."""
    check_latlon(lat_deg, lon_deg)
    n = world_size_px(zoom)
    lat = np.radians(_as_array(lat_deg))
    x = (_as_array(lon_deg) + 180.0) / 360.0 * n
    s = np.sin(lat)
    y = (0.5 - np.log((1.0 + s) / (1.0 - s)) / (4.0 * math.pi)) * n
    return x, y


def world_px_to_latlon(
    x: float | np.ndarray, y: float | np.ndarray, zoom: int
) -> tuple[np.ndarray, np.ndarray]:
    """World pixel ``(x, y)`` at ``zoom`` -> latitude/longitude in degrees."""
    n = world_size_px(zoom)
    x = _as_array(x)
    y = _as_array(y)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError(f'world pixel ({x!r}, {y!r}) is not finite')
    lon = x / n * 360.0 - 180.0
    lat = np.degrees(np.arctan(np.sinh(math.pi * (1.0 - 2.0 * y / n))))
    return lat, lon


def mercator_m_to_world_px(
    x_m: float | np.ndarray, y_m: float | np.ndarray, zoom: int
) -> tuple[np.ndarray, np.ndarray]:
    """EPSG:3857 easting/northing (metres) -> world pixel ``(x, y)`` at ``zoom`` (affine)."""
    m_per_px = EQUATOR_M_PER_PX_Z0 * TILE_PX / world_size_px(zoom)
    half_m = EQUATOR_M_PER_PX_Z0 * TILE_PX / 2
    return (_as_array(x_m) + half_m) / m_per_px, (half_m - _as_array(y_m)) / m_per_px


def world_px_to_mercator_m(
    x: float | np.ndarray, y: float | np.ndarray, zoom: int
) -> tuple[np.ndarray, np.ndarray]:
    """World pixel ``(x, y)`` at ``zoom`` -> EPSG:3857 easting/northing in metres."""
    m_per_px = EQUATOR_M_PER_PX_Z0 * TILE_PX / world_size_px(zoom)
    half_m = EQUATOR_M_PER_PX_Z0 * TILE_PX / 2
    return _as_array(x) * m_per_px - half_m, half_m - _as_array(y) * m_per_px


def ground_resolution(lat_deg: float, zoom: int) -> tuple[float, float]:
    """Exact metres per world pixel ``(east, north)`` on the WGS84 ellipsoid at ``lat_deg``.

    Web Mercator projects WGS84 coordinates with spherical formulas, so one pixel covers slightly
    different ground distances east and north; the spherical shortcut
    ``156543.03 * cos(lat) / 2**z`` is off by up to ~0.3 % (FACTS.md section 3).
    """
    check_latlon(lat_deg, 0.0)
    r = EQUATOR_M_PER_PX_Z0 * math.cos(math.radians(lat_deg)) / 2**zoom
    w = 1.0 - WGS84_E2 * math.sin(math.radians(lat_deg)) ** 2
    return r / math.sqrt(w), r * (1.0 - WGS84_E2) / w**1.5


def tile_index(lat_deg: float, lon_deg: float, zoom: int) -> tuple[int, int, int]:
    """XYZ tile ``(x, y, z)`` (256-px tiles, y down from the north) containing the point."""
    check_latlon(lat_deg, lon_deg)
    tile = mercantile.tile(float(lon_deg), float(lat_deg), int(zoom))
    return tile.x, tile.y, tile.z


def tms_row(y: int, zoom: int) -> int:
    """Row index of an XYZ tile row ``y`` in the TMS scheme (MBTiles): ``2**z - 1 - y``."""
    return (1 << int(zoom)) - 1 - int(y)


def quadkey(x: int, y: int, zoom: int) -> str:
    """Bing-style quadkey of an XYZ tile."""
    return mercantile.quadkey(int(x), int(y), int(zoom))
