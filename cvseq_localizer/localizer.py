"""The Localizer facade: GNSS fixes and camera frames in, one ``LocalizerOutput`` per call out.

Both drivers (the live ROS node and the offline replay tool) call this one class. It owns the map
frame (ENU datum), the current satellite tile and its encoded features, the temporal hidden state
and the particle filter. Whether the network runs is decided by whoever builds it (``pipeline``):
with an engine and a tile provider it fuses the network, without them it is the GNSS-only filter.
Nothing here knows about ROS.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from cvseq_localizer.filter import FilterConfig, ParticleFilter, divide_centre_prior, max_sigma_m
from cvseq_localizer.geo import GeoImage, LocalFrame
from cvseq_localizer.runtime.engine import InferenceEngine, engine_info
from cvseq_localizer.tile_provider import CoveringAnswer, TileProvider
from cvseq_localizer.types import (
    COVARIANCE_TYPE_UNKNOWN,
    Estimate,
    GnssFix,
    GridBelief,
    LocalizerEvent,
    LocalizerHealth,
    LocalizerOutput,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocalizerConfig:
    """Localizer settings (the filter's own settings are in ``filter``).

    The tile deadline and the stale-tile policy belong to the tile provider, the GNSS-only
    decision to whoever builds the Localizer (``pipeline.build_localizer``).
    """

    # ENU map-frame datum (deg, deg, m); None = the first usable GNSS fix.
    datum_lat_deg: float | None = None
    datum_lon_deg: float | None = None
    datum_alt_m: float = 0.0
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
    # Divide the network's training centre prior out of its output (``filter.prior``), with the
    # correction capped at ``prior_cap_sigmas`` sigmas.
    prior_correction: bool = True
    prior_cap_sigmas: float = 2.5
    # Reset the hidden state when consecutive frames are further apart than this (s).
    hidden_reset_gap_s: float = 2.0
    filter: FilterConfig = field(default_factory=FilterConfig)


@dataclass
class LocalizerStats:
    """Counters (mutable, internal; read them through ``Localizer.health()``)."""

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
    geo: GeoImage
    center_enu_m: np.ndarray
    sat_feats: Any


@dataclass
class _NetworkResult:
    belief: GridBelief | None = None
    xy_enu_m: np.ndarray | None = None
    skipped: str = ''


class Localizer:
    """Cross-view sequential localisation with a particle filter.

    Args:
        config: settings.
        engine: the network, or ``None`` for the GNSS-only filter.
        tile_service: the satellite tiles, or ``None`` for the GNSS-only filter.
        rng: seeded generator for the particle filter.

    The network runs only with both an engine and tiles (:attr:`network_enabled`).
    """

    def __init__(
        self,
        config: LocalizerConfig,
        engine: InferenceEngine | None,
        tile_service: TileProvider | None,
        rng: np.random.Generator,
    ) -> None:
        self.config = config
        self.engine = engine
        self.tiles = tile_service
        self.filter = ParticleFilter(config.filter, rng)
        self._stats = LocalizerStats()
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
        self._events: list[LocalizerEvent] = []

    @property
    def network_enabled(self) -> bool:
        """Whether frames go through the network (an engine and tiles were given)."""
        return self.engine is not None and self.tiles is not None

    # ------------------------------------------------------------------------------------ GNSS
    def on_gnss(self, fix: GnssFix) -> LocalizerOutput:
        """Feed a GNSS fix (stamped ``fix.stamp_ns``); prefetches the tiles around it.

        The output's estimate is ``None`` before the first usable fix.
        """
        with self._lock:
            self._events = []
            self._stats.fixes += 1
            if not fix.is_usable():
                self._stats.fixes_unusable += 1
                log.debug('ignoring unusable fix at %d (status %d)', fix.stamp_ns, fix.status)
                est = self._estimate() if self.filter.is_initialized else None
                return self._output(fix.stamp_ns, est)
            if self.frame is None:
                self.frame = LocalFrame(fix.lat_deg, fix.lon_deg, _finite(fix.alt_m, 0.0))
                log.info('map frame datum: %.7f, %.7f', fix.lat_deg, fix.lon_deg)
            e, n, _ = self.frame.to_enu(fix.lat_deg, fix.lon_deg)
            xy = np.array([float(e), float(n)])
            self.filter.update_gnss(fix.stamp_ns, xy, _fix_cov(fix))
            self._last_fix_enu_m = xy
            self._last_fix_ns = int(fix.stamp_ns)
            self._last_fix_alt_m = _finite(fix.alt_m, self._last_fix_alt_m)
            self._note_filter_events()
            if self.network_enabled and self._tile is not None:
                # Only once the first tile fixed the provider's lattice (it is anchored at the
                # first covering query; an earlier prefetch would anchor it elsewhere).
                self.tiles.prefetch(fix.lat_deg, fix.lon_deg)
            return self._output(fix.stamp_ns, self._estimate())

    # ---------------------------------------------------------------------------------- images
    def on_image(self, stamp_ns: int, image_rgb: np.ndarray) -> LocalizerOutput:
        """Feed a camera frame (``H x W x 3`` uint8 RGB) taken at ``stamp_ns``."""
        with self._lock:
            self._events = []
            self._stats.frames += 1
            if not self.filter.is_initialized or self.frame is None:
                self._stats.frames_without_position += 1
                return self._output(stamp_ns, None, _NetworkResult(skipped='no_position'))
            self.filter.predict(stamp_ns)
            self._note_filter_events()
            if not self.filter.is_initialized:  # the clock jumped back: wait for a fix
                self._stats.frames_without_position += 1
                return self._output(stamp_ns, None, _NetworkResult(skipped='no_position'))
            net = _NetworkResult(skipped='gnss_only')
            if self.network_enabled:
                net = self._run_network(stamp_ns, image_rgb)
            self._last_frame_ns = stamp_ns
            return self._output(stamp_ns, self._estimate(), net)

    def _gnss_stale(self, stamp_ns: int) -> bool:
        limit_s = self.config.network_needs_gnss_s
        if limit_s <= 0 or self._last_fix_ns is None:
            return False
        return (stamp_ns - self._last_fix_ns) * 1e-9 > limit_s

    def _run_network(self, stamp_ns: int, image_rgb: np.ndarray) -> _NetworkResult:
        prior = self.filter.estimate()
        if max_sigma_m(prior.cov_xy_m2) > self.config.network_max_std_m:
            self._stats.frames_uncertain += 1
            return _NetworkResult(skipped='uncertain')
        if self._gnss_stale(stamp_ns):
            self._stats.frames_uncertain += 1
            return _NetworkResult(skipped='gnss_stale')
        tile = self._select_tile(prior)
        if tile is None:
            self._stats.frames_without_tile += 1
            return _NetworkResult(skipped='no_tile')
        if self._last_frame_ns is not None:
            gap_s = (stamp_ns - self._last_frame_ns) * 1e-9
            if gap_s > self.config.hidden_reset_gap_s:
                self._reset_hidden('time_gap', f'{gap_s:.1f} s')
        out = self.engine.step(image_rgb, tile.sat_feats, self._hidden)
        self._hidden = out.hidden
        belief = GridBelief(out.prob, out.offsets, tile.geo, stamp_ns)
        points = belief.points_enu(self.frame)
        weights = out.prob.ravel()
        if self.config.prior_correction:
            weights = divide_centre_prior(
                weights,
                points,
                tile.center_enu_m,
                self.engine.offset_sigma_m,
                self.config.prior_cap_sigmas,
            )
        self.filter.update_grid(stamp_ns, points, weights, belief.cell_size_m())
        self._stats.frames_with_network += 1
        self._note_filter_events()
        return _NetworkResult(belief, belief.argmax_enu(self.frame))

    # ----------------------------------------------------------------------------------- tiles
    def _query_enu_m(self, prior: Estimate) -> np.ndarray:
        if max_sigma_m(prior.cov_xy_m2) < self.config.converged_std_m:
            return np.asarray(prior.xy_enu_m, np.float64)
        if self._last_fix_enu_m is None:
            return np.asarray(prior.xy_enu_m, np.float64)
        return self._last_fix_enu_m

    def _select_tile(self, prior: Estimate) -> _TileState | None:
        """The tile to run on: the current one while the query stays near its centre, else the
        provider's fresh answer. The stale-tile policy lives here and only here: without a fresh
        answer (not ready within the provider's deadline, or not in the source) the current tile
        keeps serving, however far the query moved (``None`` before the first tile)."""
        query = self._query_enu_m(prior)
        if self._tile is not None:
            off = np.abs(query - self._tile.center_enu_m)
            if np.all(off <= self.config.recenter_fraction * float(self.tiles.ground_m)):
                return self._tile
        lat, lon, _ = self.frame.to_geodetic(query[0], query[1])
        covering = self.tiles.covering(float(lat), float(lon))
        self._stats.last_tile_reason = covering.reason
        if covering.geo is None or covering.reason:
            return self._tile
        if self._tile is not None and tuple(covering.cell_index) == self._tile.cell_index:
            return self._tile
        return self._switch_tile(covering)

    def _switch_tile(self, covering: CoveringAnswer) -> _TileState:
        geo = covering.geo
        clat, clon = geo.center_latlon
        e, n, _ = self.frame.to_enu(clat, clon)
        feats = self.engine.encode_satellite(geo.image)
        self._stats.tiles_encoded += 1
        new_index = (int(covering.cell_index[0]), int(covering.cell_index[1]))
        if self._tile is not None and self._hidden is not None:
            d_row = new_index[0] - self._tile.cell_index[0]
            d_col = new_index[1] - self._tile.cell_index[1]
            if max(abs(d_row), abs(d_col)) >= self.engine.grid_n:
                self._reset_hidden('tile_jump', f'({d_row}, {d_col}) cells')
            else:
                self._hidden = self.engine.shift_hidden(self._hidden, d_row, d_col)
                self._stats.hidden_shifts += 1
        self._tile = _TileState(new_index, geo, np.array([float(e), float(n)]), feats)
        return self._tile

    # ------------------------------------------------------------------------------ internals
    def _reset_hidden(self, reason: str, detail: str = '') -> None:
        """Drop the hidden state; ``reason`` is the counter key (time_gap, tile_jump, reinit)."""
        if self._hidden is not None:
            log.info('hidden state reset (%s) %s', reason, detail)
            self._stats.hidden_resets[reason] += 1
            self._events.append(LocalizerEvent('hidden_reset', reason, detail))
        self._hidden = None

    def _note_filter_events(self) -> None:
        """The one place that learns what the filter did (today: by its reinit counter)."""
        count = int(self.filter.stats.reinitializations)
        if count != self._reinit_count:
            self._reinit_count = count
            self._events.append(LocalizerEvent('reinit', self.filter.stats.last_reinit_reason))
            self._reset_hidden('reinit', 'filter re-initialised')

    def _estimate(self) -> Estimate:
        est = self.filter.estimate()
        lat, lon, _ = self.frame.to_geodetic(est.xy_enu_m[0], est.xy_enu_m[1])
        return replace(est, lat_deg=float(lat), lon_deg=float(lon))

    def _output(
        self, stamp_ns: int, est: Estimate | None, net: _NetworkResult | None = None
    ) -> LocalizerOutput:
        net = net or _NetworkResult()
        latlon = None
        if net.xy_enu_m is not None:
            lat, lon, _ = self.frame.to_geodetic(net.xy_enu_m[0], net.xy_enu_m[1])
            latlon = (float(lat), float(lon))
        return LocalizerOutput(
            int(stamp_ns), est, net.belief, net.xy_enu_m, latlon, self._last_fix_alt_m,
            tuple(self._events), net.skipped,
        )  # fmt: skip

    def health(self) -> LocalizerHealth:
        """A snapshot of the counters (thread-safe; cheap enough for a 1 Hz diagnostics timer)."""
        with self._lock:
            s, f = self._stats, self.filter.stats
            return LocalizerHealth(
                network_enabled=self.network_enabled,
                filter_initialized=self.filter.is_initialized,
                engine_info=engine_info(self.engine) if self.network_enabled else {},
                fixes=s.fixes,
                fixes_unusable=s.fixes_unusable,
                fixes_accepted=f.fixes_accepted,
                fixes_rejected=f.fixes_rejected,
                frames=s.frames,
                frames_without_position=s.frames_without_position,
                frames_without_tile=s.frames_without_tile,
                frames_with_network=s.frames_with_network,
                frames_uncertain=s.frames_uncertain,
                grids_used=f.grids_used,
                resamples=f.resamples,
                reinitializations=f.reinitializations,
                last_reinit_reason=f.last_reinit_reason,
                hidden_resets=dict(s.hidden_resets),
                hidden_shifts=s.hidden_shifts,
                tiles_encoded=s.tiles_encoded,
                last_tile_reason=s.last_tile_reason,
                tiles=self.tiles.health() if self.tiles is not None else None,
            )

    def close(self) -> None:
        """Stop the tile provider's background workers."""
        if self.tiles is not None:
            self.tiles.close()


def _fix_cov(fix: GnssFix) -> np.ndarray | None:
    """The fix's ``(2, 2)`` horizontal covariance (m^2), or ``None`` when unknown or invalid."""
    if fix.cov_type == COVARIANCE_TYPE_UNKNOWN:
        return None
    cov = np.asarray(fix.cov_enu_m2, np.float64)[:2, :2]
    if not np.all(np.isfinite(cov)) or np.trace(cov) <= 0:
        return None
    return cov


def _finite(value: float, default: float) -> float:
    return float(value) if math.isfinite(value) else default
