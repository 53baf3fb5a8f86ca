"""The Localizer facade: GNSS, odometry and camera frames in, one ``LocalizerOutput`` per call.

Both drivers (the live ROS node and the offline replay tool) call this one class. It owns the map
frame (ENU datum, chosen by ``geo.datum``), the current satellite tile and its encoded features,
the temporal hidden state and the particle filter. Whether the network runs is decided by whoever
builds it (``pipeline``): with an engine and a tile provider it fuses the network, without them it
is the GNSS-only filter. Nothing here knows about ROS.

Threads: ``on_gnss`` and ``on_odometry`` are cheap and may come from any thread; ``on_image``
runs the network *outside* the state lock (a fix never waits for inference), serialised by a
second lock so one frame at a time owns the hidden state. Measurements are fused at their stamps
(the filter keeps a short history), so a frame whose inference finished after newer fixes still
lands at the right time. Replay is single-threaded and therefore deterministic.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import replace
from typing import Any

import numpy as np

from cvseq_localizer.filter import REINITIALIZED, RESET, ParticleFilter, UpdateResult, max_sigma_m
from cvseq_localizer.filter.heading import usable_heading
from cvseq_localizer.filter.results import GRID_FAR
from cvseq_localizer.geo import CameraModel, LocalFrame
from cvseq_localizer.geo.datum import DatumConfig, DatumTracker
from cvseq_localizer.localizer_config import LocalizerConfig, LocalizerStats, build_health
from cvseq_localizer.localizer_frames import (
    FramePlan,
    NetworkResult,
    acquire_heading,
    grid_measurement,
    network_guard,
    plan_geometry,
    step_kwargs,
    tile_query_enu_m,
    training_camera,
)
from cvseq_localizer.localizer_tiles import TileKeeper
from cvseq_localizer.logutil import WarnThrottle
from cvseq_localizer.runtime.engine import EngineOutput, InferenceEngine
from cvseq_localizer.runtime.engine import engine_info as describe_engine
from cvseq_localizer.tile_provider import CoveringAnswer, TileProvider
from cvseq_localizer.types import (
    Estimate,
    GnssFix,
    LocalizerEvent,
    LocalizerHealth,
    LocalizerOutput,
    OdometrySample,
)

log = logging.getLogger(__name__)
__all__ = ['Localizer', 'LocalizerConfig']


class Localizer:
    """Cross-view sequential localisation with a particle filter.

    Args:
        config: settings.
        engine: the network, or ``None`` for the GNSS-only filter.
        tile_service: the satellite tiles, or ``None`` for the GNSS-only filter.
        rng: seeded generator for the particle filter.
        camera: the camera frames come from when ``on_image`` is not told (geometry-aware
            engines need one; ``None`` = the camera the engine was trained with, if recorded).

    The network runs only with both an engine and tiles (:attr:`network_enabled`).
    """

    def __init__(
        self,
        config: LocalizerConfig,
        engine: InferenceEngine | None,
        tile_service: TileProvider | None,
        rng: np.random.Generator,
        camera: CameraModel | None = None,
    ) -> None:
        self.config = config
        self.engine = engine
        self.tiles = tile_service
        filter_config = config.filter
        if self.network_enabled and config.network_gnss_bias_sigma_m is not None:
            filter_config = replace(
                filter_config, gnss_bias_sigma_m=config.network_gnss_bias_sigma_m
            )
        needs_camera = self.network_enabled and bool(getattr(engine, 'needs_camera', False))
        if needs_camera and config.geometric_grid_temperature is not None:
            filter_config = replace(
                filter_config, grid_temperature=config.geometric_grid_temperature
            )
        self.filter = ParticleFilter(filter_config, rng)
        self.camera = camera or training_camera(engine)
        self._stats = LocalizerStats()
        fixed = None
        if config.datum_lat_deg is not None and config.datum_lon_deg is not None:
            fixed = (config.datum_lat_deg, config.datum_lon_deg, config.datum_alt_m)
        self._datum = DatumTracker(DatumConfig(min_fixes=config.datum_min_fixes), fixed=fixed)
        self.frame: LocalFrame | None = None if fixed is None else LocalFrame(*fixed)
        self._lock = threading.RLock()
        self._frame_lock = threading.Lock()
        self._keeper = TileKeeper(config, engine, tile_service) if self.network_enabled else None
        self._hidden: Any = None
        self._last_frame_ns: int | None = None
        self._last_fix_enu_m: np.ndarray | None = None
        self._last_fix_ns: int | None = None
        self._last_fix_alt_m = 0.0
        self._events: list[LocalizerEvent] = []
        # the fix track confirmed the filter's heading since the last (re)initialisation
        self._heading_confirmed = False
        self._acquire_ns: int | None = None  # the last heading acquisition
        self._warn = WarnThrottle(log, config.warn_period_s)

    @property
    def network_enabled(self) -> bool:
        """Whether frames go through the network (an engine and tiles were given)."""
        return self.engine is not None and self.tiles is not None

    # ------------------------------------------------------------------------------------ GNSS
    def on_gnss(self, fix: GnssFix) -> LocalizerOutput:
        """Feed a GNSS fix (stamped ``fix.stamp_ns``); prefetches the tiles around it. The
        output's estimate is ``None`` until the datum is chosen and the filter initialised."""
        with self._lock:
            self._events = []
            self._stats.fixes += 1
            problem = fix.problem()
            if problem:
                self._stats.fixes_unusable += 1
                log.debug('ignoring unusable fix at %d (%s)', fix.stamp_ns, problem)
                return self._output(fix.stamp_ns)
            decision = self._datum.observe(fix.stamp_ns, fix.lat_deg, fix.lon_deg, fix.alt_m)
            if decision.datum_changed:
                self._move_datum(decision.datum)
            if not decision.use or self.frame is None:
                self._stats.fixes_held[decision.reason or 'acquiring'] += 1
                return self._output(fix.stamp_ns)
            xy = np.array(self.frame.to_enu(fix.lat_deg, fix.lon_deg)[:2], np.float64)
            if decision.reinit and self.filter.is_initialized:
                self.filter.reset()
                self._events.append(LocalizerEvent('reinit', 'relocation', decision.reason))
                self._pose_lost('relocation')
            self._note(self.filter.update_gnss(fix.stamp_ns, xy, fix.horizontal_cov_m2()))
            self._last_fix_enu_m, self._last_fix_ns = xy, int(fix.stamp_ns)
            if math.isfinite(fix.alt_m):
                self._last_fix_alt_m = float(fix.alt_m)
            if self._keeper is not None:
                self._keeper.prefetch(fix.lat_deg, fix.lon_deg)
            return self._output(fix.stamp_ns)

    def _move_datum(self, datum: Any) -> None:
        """A new automatic datum: new ENU frame; everything expressed in the old one goes."""
        log.info('map frame datum: %.7f, %.7f', datum.lat_deg, datum.lon_deg)
        moved = self.frame is not None
        self.frame = LocalFrame(datum.lat_deg, datum.lon_deg, datum.alt_m)
        if moved:
            self.filter.reset()
            self._events.append(LocalizerEvent('reinit', 'datum moved'))
            self._pose_lost('datum moved')
            if self._keeper is not None:
                self._keeper.forget()
            self._last_fix_enu_m = None

    # --------------------------------------------------------------------- operator commands
    def reinitialize(
        self,
        stamp_ns: int,
        xy_enu_m: np.ndarray,
        cov_xy_m2: np.ndarray,
        yaw_rad: float = math.nan,
        yaw_var_rad2: float = math.inf,
    ) -> LocalizerOutput:
        """Spread the filter around a given pose (map frame; e.g. ``/initialpose``); the heading
        is used when its variance is finite and below 1 rad^2 (and counts as confirmed for
        geometry-aware engines when within ``network_confirm_heading_deg``). Drops the hidden
        state.

        Raises:
            ValueError: no map frame yet (no datum), or an unusable position.
        """
        with self._lock:
            if self.frame is None:
                raise ValueError('the map frame has no datum yet (set a datum or wait for fixes)')
            self._events = [LocalizerEvent('reinit', 'initial pose')]
            self.filter.reset()
            self.filter.initialize(int(stamp_ns), np.asarray(xy_enu_m, np.float64),
                                   np.asarray(cov_xy_m2, np.float64), yaw_rad,
                                   yaw_var_rad2)  # fmt: skip
            self._pose_lost('initial pose')
            c2 = math.radians(self.config.network_confirm_heading_deg) ** 2
            self._heading_confirmed = usable_heading(yaw_rad, yaw_var_rad2) and yaw_var_rad2 <= c2
            return self._output(stamp_ns)

    def reset(self) -> None:
        """Forget the filter and the hidden state (the datum stays); the next fix starts over."""
        with self._lock:
            self.filter.reset()
            self._pose_lost('reset')
            self._last_frame_ns = None

    # -------------------------------------------------------------------------------- odometry
    def on_odometry(self, odo: OdometrySample) -> LocalizerOutput:
        """Feed wheel speed (signed, m/s) and yaw rate (rad/s, CCW); drives the prediction."""
        with self._lock:
            self._events = []
            result = self.filter.update_odometry(
                odo.stamp_ns, odo.speed_mps, odo.yaw_rate_radps, odo.speed_var_m2ps2,
                odo.yaw_rate_var_rad2ps2,
            )  # fmt: skip
            self._note(result)
            return self._output(odo.stamp_ns)

    # ---------------------------------------------------------------------------------- images
    def on_image(
        self, stamp_ns: int, image_rgb: np.ndarray, camera: CameraModel | None = None
    ) -> LocalizerOutput:
        """Feed a camera frame (``H x W x 3`` uint8 RGB) taken at ``stamp_ns`` by ``camera``
        (``None`` = the Localizer's camera)."""
        with self._frame_lock:
            with self._lock:
                self._events = []
                plan, new_tile = self._plan(int(stamp_ns), camera)
                if plan.skipped:
                    return self._finish(plan, NetworkResult(skipped=plan.skipped))
            if new_tile is not None:  # encode a new tile outside the state lock
                feats = self.engine.encode_satellite(new_tile.geo.image)
                with self._lock:
                    self._events = []
                    plan.tile = self._keeper.install(new_tile, feats, self.frame,
                                                     self._shift_hidden)  # fmt: skip
                    plan.hidden = self._hidden
            out = self._infer(plan, image_rgb)  # no state lock: fixes keep flowing
            with self._lock:
                return self._finish(plan, self._commit(plan, out))

    def _plan(
        self, stamp_ns: int, camera: CameraModel | None
    ) -> tuple[FramePlan, CoveringAnswer | None]:
        """What this frame will do, decided under the lock (a new tile is encoded outside)."""
        self._stats.frames += 1
        if not self.filter.is_initialized or self.frame is None:
            self._stats.frames_without_position += 1
            return FramePlan(stamp_ns, 'no_position'), None
        self._note(self.filter.predict(stamp_ns))
        if not self.filter.is_initialized:  # the clock jumped back: wait for a fix
            self._stats.frames_without_position += 1
            return FramePlan(stamp_ns, 'no_position'), None
        if not self.network_enabled:
            return FramePlan(stamp_ns, 'gnss_only'), None
        prior = self.filter.estimate_at(stamp_ns)
        skipped = network_guard(self.config, self.engine, stamp_ns, prior, self._last_fix_ns)
        geometry, acquire = None, False
        if not skipped and self.engine.needs_camera:
            geometry, acquire, skipped = plan_geometry(
                self.config, self.filter, self.engine, stamp_ns, prior, camera or self.camera,
                self._warn, self._heading_confirmed, self._acquire_ns,
            )  # fmt: skip
            if acquire:
                self._acquire_ns = stamp_ns
            self._heading_confirmed |= geometry is not None and not acquire
        if skipped:
            return FramePlan(stamp_ns, skipped), None
        query = tile_query_enu_m(self.config, prior, self._last_fix_enu_m)
        tile, new_tile = self._keeper.choose(query, self.frame)
        if tile is None and new_tile is None:
            return FramePlan(stamp_ns, 'no_tile'), None
        if self._last_frame_ns is not None:
            gap_s = (stamp_ns - self._last_frame_ns) * 1e-9
            if gap_s > self.config.hidden_reset_gap_s:
                self._reset_hidden('time_gap', f'{gap_s:.1f} s')
        self._last_frame_ns = stamp_ns
        position = (np.asarray(prior.xy_enu_m, np.float64), max_sigma_m(prior.cov_xy_m2))
        return FramePlan(stamp_ns, '', tile, self._hidden, geometry, acquire, position), new_tile

    def _infer(self, plan: FramePlan, image_rgb: np.ndarray) -> EngineOutput | str:
        """Run the engine (no lock held); a frame it cannot use is a reason, never a raise."""
        kwargs = step_kwargs(self.config, self.engine, plan)
        try:
            if plan.acquire:
                return acquire_heading(self.engine, plan, image_rgb) or 'heading_ambiguous'
            return self.engine.step(image_rgb, plan.tile.sat_feats, plan.hidden, **kwargs)
        except ValueError as exc:  # FrameError, or a camera/frame the engine cannot use
            self._warn.warn('frame', 'camera frame not usable: %s', exc)
            return 'bad_frame'

    def _commit(self, plan: FramePlan, out: EngineOutput | str) -> NetworkResult:
        if isinstance(out, str):
            return NetworkResult(skipped=out)
        if plan.acquire:  # a HeadingEvidence from the acquisition
            fused = self.filter.acquire_heading(plan.stamp_ns, out.yaw_rad, out.yaw_var_rad2)
            self._note(fused)
            self._heading_confirmed |= fused.used and self.config.heading_acquire_confirms
            return NetworkResult(skipped='heading_acquired', yaw=(out.yaw_rad, out.yaw_var_rad2))
        if plan.hidden is self._hidden:  # nothing reset or shifted it meanwhile
            self._hidden = out.hidden
        if not out.ground_visible:
            return NetworkResult(skipped='no_ground')
        behind_s = (self.filter.stamp_ns - plan.stamp_ns) * 1e-9
        if behind_s > self.config.filter.history_s:  # inference outlasted the filter's history
            self._warn.warn('late', 'network result %.1f s late: not fused', behind_s)
            return NetworkResult(skipped='too_late')
        belief, points, weights = grid_measurement(self.config, self.engine, out, plan, self.frame)
        grid = self.filter.update_grid(plan.stamp_ns, points, weights, belief.cell_size_m())
        self._note(grid)
        if grid.reason == GRID_FAR:  # the filter does not trust this match: nor its heading
            return NetworkResult(belief, belief.argmax_enu(self.frame), skipped='far_in_dropout')
        yaw = None
        heading = out.heading
        if heading is not None and heading.informative:
            yaw = (heading.yaw_rad, heading.yaw_var_rad2)
            if self.config.use_network_heading:
                self._note(self.filter.update_heading(plan.stamp_ns, *yaw))
        self._stats.frames_with_network += 1
        return NetworkResult(belief, belief.argmax_enu(self.frame), yaw=yaw)

    def _finish(self, plan: FramePlan, net: NetworkResult) -> LocalizerOutput:
        if net.skipped and net.skipped != 'no_position':
            self._stats.frames_skipped[net.skipped] += 1
        return self._output(plan.stamp_ns, net)

    def _shift_hidden(self, d_row: int, d_col: int) -> None:
        """The tile moved by whole cells: shift the hidden state, or drop it on a far jump."""
        if self._hidden is None:
            return
        if max(abs(d_row), abs(d_col)) >= self.engine.grid_n:
            self._reset_hidden('tile_jump', f'({d_row}, {d_col}) cells')
        else:
            self._hidden = self.engine.shift_hidden(self._hidden, d_row, d_col)
            self._stats.hidden_shifts += 1

    # ------------------------------------------------------------------------------ internals
    def _pose_lost(self, detail: str) -> None:
        """The filter starts over: drop the hidden state, the heading needs confirming again."""
        self._reset_hidden('reinit', detail)
        self._heading_confirmed = False

    def _reset_hidden(self, reason: str, detail: str = '') -> None:
        """Drop the hidden state; ``reason`` is the counter key (time_gap, tile_jump, reinit)."""
        if self._hidden is not None:
            log.info('hidden state reset (%s) %s', reason, detail)
            self._stats.hidden_resets[reason] += 1
            self._events.append(LocalizerEvent('hidden_reset', reason, detail))
        self._hidden = None

    def _note(self, result: UpdateResult) -> None:
        """The one place that learns what the filter did: its returned events."""
        for event in result.events:
            if event.kind not in (REINITIALIZED, RESET):
                continue
            self._events.append(LocalizerEvent('reinit', event.reason))
            self._pose_lost('filter re-initialised')
            if event.kind == REINITIALIZED and self.frame is not None:
                self._maybe_recentre_datum()

    def _maybe_recentre_datum(self) -> None:
        est = self.filter.estimate()
        lat, lon, _ = self.frame.to_geodetic(est.xy_enu_m[0], est.xy_enu_m[1])
        datum = self._datum.on_reinit(float(lat), float(lon), self._last_fix_alt_m)
        if datum is not None:
            xy = est.xy_enu_m
            self._move_datum(datum)
            e, n, _ = self.frame.to_enu(lat, lon)
            log.info('re-initialised %.0f m from the datum: datum moved there', np.hypot(*xy))
            self.filter.initialize(est.stamp_ns, np.array([e, n]), est.cov_xy_m2)

    def _estimate(self, stamp_ns: int) -> Estimate | None:
        if not self.filter.is_initialized or self.frame is None:
            return None
        est = self.filter.estimate_at(stamp_ns)
        lat, lon, _ = self.frame.to_geodetic(est.xy_enu_m[0], est.xy_enu_m[1])
        return replace(est, lat_deg=float(lat), lon_deg=float(lon))

    def _output(self, stamp_ns: int, net: NetworkResult | None = None) -> LocalizerOutput:
        net = net or NetworkResult()
        latlon = None
        if net.xy_enu_m is not None:
            lat, lon, _ = self.frame.to_geodetic(net.xy_enu_m[0], net.xy_enu_m[1])
            latlon = (float(lat), float(lon))
        yaw, yaw_var = net.yaw if net.yaw is not None else (None, None)
        return LocalizerOutput(
            int(stamp_ns), self._estimate(stamp_ns), net.belief, net.xy_enu_m, latlon,
            self._last_fix_alt_m, tuple(self._events), net.skipped, yaw, yaw_var,
        )  # fmt: skip

    def health(self) -> LocalizerHealth:
        """A snapshot of the counters (thread-safe; cheap enough for a 1 Hz diagnostics timer)."""
        with self._lock:
            return build_health(
                self._stats, self.filter.health(), self.filter.stats.resamples,
                describe_engine(self.engine) if self.network_enabled else None, self._keeper,
                self.tiles.health() if self.tiles is not None else None,
            )  # fmt: skip

    def close(self) -> None:
        """Stop the tile provider's background workers."""
        if self.tiles is not None:
            self.tiles.close()
