"""GNSS antenna lever arm: move a fix from the antenna to the ``base_link`` origin.

The antenna sits at ``lever_body_m`` (x forward, y left, z up, metres) in ``base_link``. With the
vehicle's heading ``yaw_rad`` (REP-103: 0 = east, counter-clockwise) the antenna is
``R(yaw) @ lever_xy`` east/north of the origin, so the origin is that much the other way.

The shift is applied on the ellipsoid with the meridian and prime-vertical radii of curvature at
the fix (hand-written instead of a pyproj pipeline per fix, which costs about a millisecond to
build): for offsets of a few metres the linearisation error is below a micrometre.
"""

from __future__ import annotations

import math

import numpy as np

WGS84_A_M = 6378137.0
WGS84_E2 = 6.69437999014e-3  # first eccentricity squared


def lever_offset_enu_m(lever_body_m: np.ndarray, yaw_rad: float) -> np.ndarray:
    """``(2,)`` east/north offset (m) of the antenna from ``base_link`` at heading ``yaw_rad``.

    Args:
        lever_body_m: ``(2,)`` or ``(3,)`` antenna position in ``base_link`` (m); z is ignored.
    """
    lx, ly = (float(v) for v in np.asarray(lever_body_m, np.float64).ravel()[:2])
    c, s = math.cos(yaw_rad), math.sin(yaw_rad)
    return np.array([c * lx - s * ly, s * lx + c * ly])


def shift_latlon(
    lat_deg: float, lon_deg: float, alt_m: float, east_m: float, north_m: float
) -> tuple[float, float]:
    """``(lat, lon)`` degrees of the point ``east_m``/``north_m`` from ``(lat, lon, alt)``."""
    phi = math.radians(lat_deg)
    w = math.sqrt(1.0 - WGS84_E2 * math.sin(phi) ** 2)
    prime_vertical = WGS84_A_M / w
    meridian = WGS84_A_M * (1.0 - WGS84_E2) / w**3
    h = alt_m if math.isfinite(alt_m) else 0.0
    dlat = north_m / (meridian + h)
    dlon = east_m / ((prime_vertical + h) * math.cos(phi))
    return lat_deg + math.degrees(dlat), lon_deg + math.degrees(dlon)


def antenna_to_base(
    lat_deg: float, lon_deg: float, alt_m: float, lever_body_m: np.ndarray, yaw_rad: float
) -> tuple[float, float, float]:
    """The ``base_link`` origin's ``(lat, lon, alt)`` from the antenna's fix.

    Args:
        lat_deg, lon_deg, alt_m: the antenna's fix (deg, deg, ellipsoidal m).
        lever_body_m: ``(3,)`` antenna position in ``base_link`` (m).
        yaw_rad: the vehicle's heading (REP-103, rad).
    """
    lever = np.asarray(lever_body_m, np.float64).ravel()
    east, north = -lever_offset_enu_m(lever, yaw_rad)
    lat, lon = shift_latlon(lat_deg, lon_deg, alt_m, float(east), float(north))
    z = float(lever[2]) if lever.size > 2 else 0.0
    return lat, lon, alt_m - z
