"""The Localizer facade: GNSS fixes and camera frames in, pose estimates out.

Both drivers (the live ROS node and the offline replay tool) call this one class. It owns the map
frame (ENU datum), the current satellite tile and its encoded features, the temporal hidden state
and the particle filter. Nothing here knows about ROS.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from cvseq_localizer.filter import FilterConfig, ParticleFilter
from cvseq_localizer.geo import LocalFrame
from cvseq_localizer.runtime.engine import InferenceEngine
from cvseq_localizer.types import COVARIANCE_TYPE_UNKNOWN, Estimate, GnssFix, GridBelief

log = logging.getLogger(__name__)


@dataclass
class LocalizerConfig:
    """Localizer settings (the filter's own settings are in ``filter``)."""

    # ENU map-frame datum (deg, deg, m); None = the first usable GNSS fix.
    datum_lat_deg: float | None = None
    datum_lon_deg: float | None = None
    datum_alt_m: float = 0.0
    # Use the network when an engine and a tile are available (False = GNSS-only filter).
    use_network: bool = True
    # Re-centre the tile when the query position is farther than this fraction of the tile size
    # from the tile centre (per axis).
    recenter_fraction: float = 0.25
    # The filter estimate (instead of the last GNSS fix) centres the tile once its position
    # standard deviation (m) is below this.
    converged_std_m: float = 4.0
    # Skip the network while the filter's position standard deviation (m, largest axis) exceeds
    # this: the vehicle may then lie outside the tile or far from where the network was trained
    # to look (e.g. during a GNSS dropout), and a confident wrong peak would drag the filter.
    network_max_std_m: float = 10.0
    # Use the network only while a GNSS fix was used within this many seconds (0 = always). A
    # network that cannot localise on its own would otherwise carry the filter through a GNSS
    # outage by itself; the shipped CPU model is such a network (see models/README.md).
    network_needs_gnss_s: float = 1.0
    # The network was trained with the true position offset from the tile centre by
    # N(0, sigma^2) per axis (sigma from the checkpoint's ``offset_sigma_m``), so its output is a
    # posterior that already holds that centre prior. The tile is centred on the filter's own
    # estimate, so feeding it unchanged would count the filter's belief twice (a feedback loop:
    # the estimate drifts, the tile follows, the network confirms). Dividing the prior out turns
    # it back into a likelihood; the correction is capped at ``prior_cap_sigmas`` sigmas.
    prior_correction: bool = True
    prior_cap_sigmas: float = 2.5
    # Reset the hidden state when consecutive frames are further apart than this (s).
    hidden_reset_gap_s: float = 2.0
    # How long on_image may wait for a tile (s); None = block until it is assembled (replay).
    tile_deadline_s: float | None = 0.05
    filter: FilterConfig = field(default_factory=FilterConfig)


@dataclass
class LocalizerStats:
    """Counters for diagnostics and evaluation."""

    fixes: int = 0
    fixes_unusable: int = 0
    frames: int = 0
    frames_without_position: int = 0
    frames_without_tile: int = 0
    frames_with_network: int = 0
    frames_uncertain: int = 0
    hidden_resets: Counter = field(default_factory=Counter)
    hidden_shifts: int = 0
    tiles_encoded: int = 0
    last_tile_reason: str = ''


@dataclass
class _TileState:
    cell_index: tuple[int, int]
    belief_geo: Any  # GeoImage of the tile
    center_enu_m: np.ndarray
    sat_feats: Any


class Localizer:
    """Cross-view sequential localisation with a particle filter.

    Args:
        config: settings.
        engine: an :class:`InferenceEngine`, or ``None`` for GNSS-only.
        tile_service: a ``SatelliteTileService``-like object with
            ``covering(lat_deg, lon_deg, deadline_s) -> CoveringTile(geo, cell_index, reason)``
            and ``config.ground_m``/``config.grid_n``; ``None`` for GNSS-only.
        rng: seeded generator for the particle filter.
    """

    def __init__(
        self,
        config: LocalizerConfig,
        engine: InferenceEngine | None,
        tile_service: Any | None,
        rng: np.random.Generator,
    ) -> None:
        self.config = config
        self.engine = engine
        self.tiles = tile_service
        self.filter = ParticleFilter(config.filter, rng)
        self.stats = LocalizerStats()
        self.frame: LocalFrame | None = None
        if config.datum_lat_deg is not None and config.datum_lon_deg is not None:
            self.frame = LocalFrame(config.datum_lat_deg, config.datum_lon_deg, config.datum_alt_m)
        self._lock = threading.RLock()
        self._tile: _TileState | None = None
        self._hidden: Any = None
        self._last_frame_ns: int | None = None
        self._last_fix_enu_m: np.ndarray | None = None
        self._last_fix_ns: int | None = None
        self._last_fix_alt_m = 0.0
        self._reinit_count = 0
        self.last_belief: GridBelief | None = None
        self.last_network_xy_enu_m: np.ndarray | None = None

    # ------------------------------------------------------------------------------------ GNSS
    def on_gnss(self, stamp_ns: int, fix: GnssFix) -> Estimate | None:
        """Feed a GNSS fix; returns the updated estimate (``None`` before the first usable fix)."""
        with self._lock:
            self.stats.fixes += 1
            if not fix.is_usable():
                self.stats.fixes_unusable += 1
                log.debug('ignoring unusable fix at %d (status %d)', stamp_ns, fix.status)
                return self._estimate() if self.filter.is_initialized else None
            if self.frame is None:
                self.frame = LocalFrame(fix.lat_deg, fix.lon_deg, _finite(fix.alt_m, 0.0))
                log.info('map frame datum: %.7f, %.7f', fix.lat_deg, fix.lon_deg)
            e, n, _ = self.frame.to_enu(fix.lat_deg, fix.lon_deg)
            xy = np.array([float(e), float(n)])
            cov = None
            if fix.cov_type != COVARIANCE_TYPE_UNKNOWN:
                cov = np.asarray(fix.cov_enu_m2, np.float64)[:2, :2]
                if not np.all(np.isfinite(cov)) or np.trace(cov) <= 0:
                    cov = None
            self.filter.update_gnss(stamp_ns, xy, cov)
            self._last_fix_enu_m = xy
            self._last_fix_ns = int(stamp_ns)
            self._last_fix_alt_m = _finite(fix.alt_m, self._last_fix_alt_m)
            self._check_filter_reinit()
            return self._estimate()

    # ---------------------------------------------------------------------------------- images
    def on_image(self, stamp_ns: int, image_rgb: np.ndarray) -> Estimate | None:
        """Feed a camera frame (``H x W x 3`` uint8 RGB); returns the estimate at ``stamp_ns``."""
        with self._lock:
            self.stats.frames += 1
            if not self.filter.is_initialized or self.frame is None:
                self.stats.frames_without_position += 1
                return None
            self.filter.predict(stamp_ns)
            self._check_filter_reinit()
            if not self.filter.is_initialized:  # the clock jumped back: wait for a fix
                self.stats.frames_without_position += 1
                return None
            if self._network_ready():
                self._run_network(stamp_ns, image_rgb)
            self._last_frame_ns = stamp_ns
            return self._estimate()

    def _network_ready(self) -> bool:
        return bool(self.config.use_network and self.engine is not None and self.tiles)

    def _gnss_stale(self, stamp_ns: int) -> bool:
        limit_s = self.config.network_needs_gnss_s
        if limit_s <= 0 or self._last_fix_ns is None:
            return False
        return (stamp_ns - self._last_fix_ns) * 1e-9 > limit_s

    def _position_std_m(self) -> float:
        cov = self.filter.estimate().cov_xy_m2
        return math.sqrt(max(float(np.max(np.linalg.eigvalsh(cov))), 0.0))

    def _run_network(self, stamp_ns: int, image_rgb: np.ndarray) -> None:
        if self._position_std_m() > self.config.network_max_std_m or self._gnss_stale(stamp_ns):
            self.stats.frames_uncertain += 1
            return
        tile = self._select_tile()
        if tile is None:
            self.stats.frames_without_tile += 1
            return
        if self._last_frame_ns is not None:
            gap_s = (stamp_ns - self._last_frame_ns) * 1e-9
            if gap_s > self.config.hidden_reset_gap_s:
                self._reset_hidden('time_gap', f'{gap_s:.1f} s')
        out = self.engine.step(image_rgb, tile.sat_feats, self._hidden)
        self._hidden = out.hidden
        belief = GridBelief(out.prob, out.offsets, tile.belief_geo, stamp_ns)
        points = belief.points_enu(self.frame)
        self.last_belief = belief
        self.last_network_xy_enu_m = points[int(np.argmax(out.prob))]
        probs = self._likelihood_weights(points, tile, out.prob.ravel())
        self.filter.update_grid(stamp_ns, points, probs, belief.cell_size_m())
        self.stats.frames_with_network += 1
        self._check_filter_reinit()

    def _likelihood_weights(self, points: np.ndarray, tile: _TileState, prob: np.ndarray):
        """Cell probabilities with the training centre prior divided out (see the config)."""
        sigma = float(getattr(self.engine, 'metadata', {}).get('offset_sigma_m', 0.0) or 0.0)
        if not self.config.prior_correction or sigma <= 0:
            return prob
        d2 = np.sum((points - tile.center_enu_m) ** 2, axis=1)
        d2 = np.minimum(d2, (self.config.prior_cap_sigmas * sigma) ** 2)
        weighted = prob * np.exp(d2 / (2.0 * sigma**2))
        total = weighted.sum()
        return weighted / total if np.isfinite(total) and total > 0 else prob

    # ----------------------------------------------------------------------------------- tiles
    def _query_enu_m(self) -> np.ndarray:
        if self._position_std_m() < self.config.converged_std_m or self._last_fix_enu_m is None:
            return np.asarray(self.filter.estimate().xy_enu_m, np.float64)
        return self._last_fix_enu_m

    def _select_tile(self) -> _TileState | None:
        query = self._query_enu_m()
        ground_m = float(self.tiles.config.ground_m)
        if self._tile is not None:
            off = np.abs(query - self._tile.center_enu_m)
            if np.all(off <= self.config.recenter_fraction * ground_m):
                return self._tile
        lat, lon, _ = self.frame.to_geodetic(query[0], query[1])
        covering = self.tiles.covering(float(lat), float(lon), self.config.tile_deadline_s)
        self.stats.last_tile_reason = covering.reason
        if covering.geo is None:
            return self._tile
        if self._tile is not None and tuple(covering.cell_index) == self._tile.cell_index:
            return self._tile
        return self._switch_tile(covering)

    def _switch_tile(self, covering: Any) -> _TileState:
        geo = covering.geo
        clat, clon = geo.center_latlon
        e, n, _ = self.frame.to_enu(clat, clon)
        feats = self.engine.encode_satellite(geo.image)
        self.stats.tiles_encoded += 1
        new_index = (int(covering.cell_index[0]), int(covering.cell_index[1]))
        if self._tile is not None and self._hidden is not None:
            d_row = new_index[0] - self._tile.cell_index[0]
            d_col = new_index[1] - self._tile.cell_index[1]
            if max(abs(d_row), abs(d_col)) >= self.engine.grid_n:
                self._reset_hidden('tile_jump', f'({d_row}, {d_col}) cells')
            else:
                self._hidden = self.engine.shift_hidden(self._hidden, d_row, d_col)
                self.stats.hidden_shifts += 1
        self._tile = _TileState(new_index, geo, np.array([float(e), float(n)]), feats)
        return self._tile

    # ------------------------------------------------------------------------------ internals
    def _reset_hidden(self, kind: str, detail: str = '') -> None:
        """Drop the hidden state; ``kind`` is the counter key (time_gap, tile_jump, reinit)."""
        if self._hidden is not None:
            log.info('hidden state reset (%s) %s', kind, detail)
            self.stats.hidden_resets[kind] += 1
        self._hidden = None

    def _check_filter_reinit(self) -> None:
        count = int(self.filter.stats.reinitializations)
        if count != self._reinit_count:
            self._reinit_count = count
            self._reset_hidden('reinit', 'filter re-initialised')

    def _estimate(self) -> Estimate:
        est = self.filter.estimate()
        lat, lon, _ = self.frame.to_geodetic(est.xy_enu_m[0], est.xy_enu_m[1])
        return replace(est, lat_deg=float(lat), lon_deg=float(lon))

    @property
    def last_fix_alt_m(self) -> float:
        return self._last_fix_alt_m

    def close(self) -> None:
        """Stop the tile service's background workers."""
        if self.tiles is not None and hasattr(self.tiles, 'close'):
            self.tiles.close()

    def reset(self) -> None:
        """Forget everything but the map frame (e.g. after a bag loops)."""
        with self._lock:
            self.filter.reset()
            self._tile = None
            self._hidden = None
            self._last_frame_ns = None
            self._last_fix_enu_m = None


def _finite(value: float, default: float) -> float:
    return float(value) if math.isfinite(value) else default
