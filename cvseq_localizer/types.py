"""Small value types shared by the core modules (no ROS, no torch).

Frames and units are in the names: ``*_enu_m`` metres in the localizer's ENU map frame,
``*_deg`` degrees, ``*_rad`` radians (REP-103: yaw 0 = east, counter-clockwise), ``stamp_ns``
integer nanoseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cvseq_localizer.geo import GeoImage, LocalFrame
from cvseq_localizer.geo.mercator import MAX_LAT_DEG

# sensor_msgs/NavSatStatus.status values and NavSatFix.position_covariance_type values.
STATUS_NO_FIX = -1
STATUS_FIX = 0
STATUS_SBAS_FIX = 1
STATUS_GBAS_FIX = 2
COVARIANCE_TYPE_UNKNOWN = 0
COVARIANCE_TYPE_APPROXIMATED = 1
COVARIANCE_TYPE_DIAGONAL_KNOWN = 2
COVARIANCE_TYPE_KNOWN = 3
# Fixes beyond Web Mercator's latitude limit have no satellite tile and no map position.
MAX_FIX_LAT_DEG = MAX_LAT_DEG


@dataclass(frozen=True)
class GnssFix:
    """A GNSS position fix (the core's view of ``sensor_msgs/NavSatFix``).

    ``cov_enu_m2`` is the 3x3 position covariance in East-North-Up metres squared, as in
    ``NavSatFix.position_covariance``; ``cov_type`` tells how far to trust it.
    """

    stamp_ns: int
    lat_deg: float
    lon_deg: float
    alt_m: float = 0.0
    cov_enu_m2: np.ndarray = field(default_factory=lambda: np.zeros((3, 3)))
    cov_type: int = COVARIANCE_TYPE_UNKNOWN
    status: int = STATUS_FIX

    def is_usable(self) -> bool:
        """The one usability rule for fixes (see ``problem``): ``True`` when nothing is wrong."""
        return not self.problem()

    def problem(self) -> str:
        """Why the localizer cannot use this fix (a short key), or ``''`` if it can.

        Keys: ``no_fix`` (status NO_FIX), ``status`` (not a NavSatStatus value), ``latitude``
        (not finite or beyond Web Mercator's +/-85.0511 deg), ``longitude`` (not finite or
        beyond +/-180 deg), ``covariance`` (not 3x3, or a known-type covariance that is not
        finite or has a negative variance).
        """
        if self.status == STATUS_NO_FIX:
            return 'no_fix'
        if self.status not in (STATUS_FIX, STATUS_SBAS_FIX, STATUS_GBAS_FIX):
            return 'status'
        if not (_real(self.lat_deg) and abs(self.lat_deg) <= MAX_FIX_LAT_DEG):
            return 'latitude'
        if not (_real(self.lon_deg) and abs(self.lon_deg) <= 180.0):
            return 'longitude'
        cov = np.asarray(self.cov_enu_m2)
        if cov.shape != (3, 3) or not np.issubdtype(cov.dtype, np.number):
            return 'covariance'
        if self.cov_type != COVARIANCE_TYPE_UNKNOWN and not (
            np.all(np.isfinite(cov)) and np.all(np.diag(cov) >= 0)
        ):
            return 'covariance'
        return ''


def _real(value: object) -> bool:
    return isinstance(value, (int, float, np.floating, np.integer)) and math.isfinite(value)


@dataclass(frozen=True)
class GridBelief:
    """The network's output for one frame, georeferenced by the satellite tile it was run on.

    Attributes:
        prob: ``(N, N)`` cell probabilities summing to 1; row 0 is the tile's north edge.
        offsets: ``(N, N, 2)`` in-cell position ``(row, col)`` in ``[0, 1)`` measured from the
            cell's top-left corner (the offset head's output for every cell).
        geo: the satellite tile's ``GeoImage``; the N x N grid spans the whole tile.
        stamp_ns: timestamp of the camera frame.
    """

    prob: np.ndarray
    offsets: np.ndarray
    geo: GeoImage
    stamp_ns: int = 0

    @property
    def grid_n(self) -> int:
        return int(self.prob.shape[0])

    def points_px(self) -> np.ndarray:
        """``(N*N, 2)`` refined cell positions ``(u, v)`` in tile pixels, row-major cell order."""
        n = self.grid_n
        rows, cols = np.meshgrid(np.arange(n), np.arange(n), indexing='ij')
        cell_h = self.geo.height / n
        cell_w = self.geo.width / n
        u = (cols + self.offsets[..., 1]) * cell_w
        v = (rows + self.offsets[..., 0]) * cell_h
        return np.stack([u.ravel(), v.ravel()], axis=1)

    def points_enu(self, frame: LocalFrame) -> np.ndarray:
        """``(N*N, 2)`` refined cell positions ``(east, north)`` in metres in ``frame``."""
        px = self.points_px()
        e, n = self.geo.pixel_to_enu(px[:, 0], px[:, 1], frame)
        return np.stack([e, n], axis=1)

    def argmax_enu(self, frame: LocalFrame) -> np.ndarray:
        """``(2,)`` ENU position of the most likely cell's refined point."""
        return self.points_enu(frame)[int(np.argmax(self.prob))]

    def cell_size_m(self) -> float:
        """Mean ground size of one cell in metres."""
        east, north = self.geo.metres_per_pixel()
        return 0.5 * (east * self.geo.width + north * self.geo.height) / self.grid_n


@dataclass(frozen=True)
class Estimate:
    """The localizer's belief at ``stamp_ns`` in the ENU map frame.

    ``lat_deg``/``lon_deg`` are filled by the Localizer (the filter itself works in ENU only).
    """

    stamp_ns: int
    xy_enu_m: np.ndarray
    cov_xy_m2: np.ndarray
    yaw_rad: float
    yaw_var_rad2: float
    speed_mps: float
    ess: float
    gnss_only: bool = True
    diverged: bool = False
    lat_deg: float = math.nan
    lon_deg: float = math.nan
