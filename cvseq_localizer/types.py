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

    def horizontal_cov_m2(self) -> np.ndarray | None:
        """The ``(2, 2)`` East-North covariance (m^2), or ``None`` when unknown or invalid."""
        if self.cov_type == COVARIANCE_TYPE_UNKNOWN:
            return None
        cov = np.asarray(self.cov_enu_m2, np.float64)[:2, :2]
        if not np.all(np.isfinite(cov)) or np.trace(cov) <= 0:
            return None
        return cov

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
class OdometrySample:
    """Wheel odometry (the core's view of ``nav_msgs/Odometry`` / ``TwistWithCovarianceStamped``).

    ``speed_mps`` is signed (forward positive, reversing negative), ``yaw_rate_radps``
    counter-clockwise; variances ``None`` when the message does not give them.
    """

    stamp_ns: int
    speed_mps: float
    yaw_rate_radps: float
    speed_var_m2ps2: float | None = None
    yaw_rate_var_rad2ps2: float | None = None


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


@dataclass(frozen=True)
class LocalizerEvent:
    """Something the Localizer did during one call besides updating the estimate.

    Attributes:
        kind: ``'reinit'`` (the filter re-initialised) or ``'hidden_reset'`` (the temporal
            hidden state was dropped).
        reason: for ``reinit`` the filter's reason; for ``hidden_reset`` one of ``time_gap``,
            ``tile_jump``, ``reinit``.
        detail: human-readable detail (e.g. the gap in seconds).
    """

    kind: str
    reason: str
    detail: str = ''


@dataclass(frozen=True)
class LocalizerOutput:
    """Everything one ``Localizer.on_gnss`` / ``on_image`` call computed.

    Attributes:
        stamp_ns: stamp of the input (the fix's or the camera frame's).
        estimate: the fused estimate at ``stamp_ns`` (``None`` before the first usable fix).
        belief: the network's grid for this frame (``None`` when the network did not run).
        network_xy_enu_m: ``(2,)`` ENU position (m) of the belief's most likely cell, or ``None``.
        network_latlon_deg: the same position as ``(lat, lon)`` degrees, or ``None``.
        alt_m: ellipsoidal height (m) of the last usable fix (0 before any).
        events: re-initialisations and hidden-state resets that happened in this call.
        network_skipped: why the network did not run on this frame ('' if it ran or for GNSS
            calls): ``no_position``, ``gnss_only``, ``uncertain``, ``gnss_stale``, ``no_tile``,
            ``no_camera``, ``heading_uncertain``, ``heading_disagrees_gnss``,
            ``heading_unconfirmed``, ``bad_frame``, ``no_ground``, ``too_late``.
        network_yaw_rad: the engine's heading measurement for this frame (REP-103, rad), or
            ``None`` (no heading output, or an uninformative one).
        network_yaw_var_rad2: its variance (rad^2), or ``None``.
    """

    stamp_ns: int
    estimate: Estimate | None
    belief: GridBelief | None = None
    network_xy_enu_m: np.ndarray | None = None
    network_latlon_deg: tuple[float, float] | None = None
    alt_m: float = 0.0
    events: tuple[LocalizerEvent, ...] = ()
    network_skipped: str = ''
    network_yaw_rad: float | None = None
    network_yaw_var_rad2: float | None = None


@dataclass(frozen=True)
class LocalizerHealth:
    """A snapshot of the Localizer's counters for diagnostics (all counts since start).

    ``engine_info`` holds the engine's scalar facts (name, grid_n, sat_size, temporal and the
    checkpoint metadata); it is empty without a network. ``tiles`` is the tile provider's own
    ``health()`` snapshot (``None`` without tiles).
    """

    network_enabled: bool
    filter_initialized: bool
    engine_info: dict = field(default_factory=dict)
    fixes: int = 0
    fixes_unusable: int = 0
    fixes_accepted: int = 0
    fixes_rejected: int = 0
    fixes_held: dict = field(default_factory=dict)
    odometry_used: int = 0
    headings_used: int = 0
    frames: int = 0
    frames_without_position: int = 0
    frames_without_tile: int = 0
    frames_with_network: int = 0
    frames_uncertain: int = 0
    frames_skipped: dict = field(default_factory=dict)
    grids_used: int = 0
    resamples: int = 0
    reinitializations: int = 0
    last_reinit_reason: str = ''
    hidden_resets: dict = field(default_factory=dict)
    hidden_shifts: int = 0
    tiles_encoded: int = 0
    last_tile_reason: str = ''
    tiles: object | None = None
