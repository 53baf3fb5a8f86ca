"""The Localizer's decisions about a camera frame: may the network run on it, and with what
camera and heading prior (geometry-aware engines). Pure functions of the configuration, the
filter's prior and the engine, so each guard is one place and testable on its own."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from cvseq_localizer.filter import ParticleFilter, divide_centre_prior, max_sigma_m
from cvseq_localizer.geo import CameraModel
from cvseq_localizer.localizer_config import LocalizerConfig
from cvseq_localizer.localizer_tiles import TileState
from cvseq_localizer.logutil import WarnThrottle
from cvseq_localizer.runtime.engine import FrameGeometry, InferenceEngine
from cvseq_localizer.types import Estimate, GridBelief

log = logging.getLogger(__name__)


@dataclass
class FramePlan:
    """What ``Localizer.on_image`` decided under the lock before running the network."""

    stamp_ns: int
    skipped: str = ''
    tile: TileState | None = None
    hidden: Any = None
    geometry: FrameGeometry | None = None
    acquire: bool = False  # a heading acquisition instead of a step
    # the filter's position (ENU m (2,), std m): the acquisition's prior, or the step's for
    # the engine's heading evidence
    position: tuple[np.ndarray, float] | None = None


@dataclass
class NetworkResult:
    """What one frame's network step gave the filter (or why it was skipped)."""

    belief: GridBelief | None = None
    xy_enu_m: np.ndarray | None = None
    skipped: str = ''
    yaw: tuple[float, float] | None = None


def network_guard(
    config: LocalizerConfig,
    engine: InferenceEngine,
    stamp_ns: int,
    prior: Estimate,
    last_fix_ns: int | None,
) -> str:
    """Why the network must not run on this frame ('' = it may)."""
    if max_sigma_m(prior.cov_xy_m2) > config.network_max_std_m:
        return 'uncertain'
    limit_s = config.network_needs_gnss_s
    if limit_s is None:
        limit_s = 0.0 if engine.needs_camera else 1.0
    if limit_s > 0 and last_fix_ns is not None:
        if (stamp_ns - last_fix_ns) * 1e-9 > limit_s:
            return 'gnss_stale'
    return ''


def frame_geometry(
    config: LocalizerConfig,
    filt: ParticleFilter,
    stamp_ns: int,
    prior: Estimate,
    camera: CameraModel | None,
    warn: WarnThrottle,
    heading_confirmed: bool = True,
) -> tuple[FrameGeometry | None, str]:
    """The camera and heading prior for a geometry-aware engine, or why there is none.

    ``heading_confirmed``: the fix track has confirmed the filter's heading since its last
    (re)initialisation; until then the track must do so now
    (``LocalizerConfig.network_confirm_heading_deg``), and a returned geometry means it did.
    """
    if camera is None:
        warn.warn('camera', 'no camera model for a geometry-aware engine: GNSS-only')
        return None, 'no_camera'
    yaw_std = math.sqrt(max(prior.yaw_var_rad2, 0.0))
    limit = math.radians(config.network_max_yaw_std_deg)
    if not yaw_std <= limit:
        return None, 'heading_uncertain'
    # The engine searches headings around the filter's and its heading output then confirms
    # the filter's: a wrong, confident heading would lock itself in. While the GNSS fix track
    # moves it is the independent check (FixTrack.heading).
    track = filt.gnss_heading(stamp_ns, config.network_heading_check_s)
    off = math.inf
    if track is not None:
        off = abs((prior.yaw_rad - track[0] + math.pi) % (2 * math.pi) - math.pi)
        if off > max(3.0 * track[1], limit):
            return None, 'heading_disagrees_gnss'
    confirm = math.radians(config.network_confirm_heading_deg)
    if not heading_confirmed and confirm > 0 and config.network_heading_check_s > 0:
        if track is None or track[1] > confirm or off > confirm:
            return None, 'heading_unconfirmed'
    return FrameGeometry(camera, float(prior.yaw_rad), yaw_std), ''


def plan_geometry(
    config: LocalizerConfig,
    filt: ParticleFilter,
    engine: InferenceEngine,
    stamp_ns: int,
    prior: Estimate,
    camera: CameraModel | None,
    warn: WarnThrottle,
    heading_confirmed: bool,
    last_acquire_ns: int | None,
) -> tuple[FrameGeometry | None, bool, str]:
    """``(geometry, acquire, skipped)`` of a geometry-aware engine's frame: a step
    (:func:`frame_geometry`), a heading acquisition (:func:`acquisition_due`) while the heading
    is too uncertain for a step, or unconfirmed when an acquisition
    may confirm it (``heading_acquire_confirms``: after a re-initialisation that kept a certain
    heading dev urban 359 waited 15 s for the fix track), or why neither."""
    geometry, skipped = frame_geometry(config, filt, stamp_ns, prior, camera, warn,
                                       heading_confirmed)  # fmt: skip
    wanted = {'heading_uncertain'} | ({'heading_unconfirmed'} if config.heading_acquire_confirms
                                      else set())  # fmt: skip
    if skipped in wanted and acquisition_due(config, engine, stamp_ns, last_acquire_ns, camera):
        return FrameGeometry(camera, float(prior.yaw_rad)), True, ''
    return geometry, False, skipped


def acquisition_due(
    config: LocalizerConfig,
    engine: InferenceEngine,
    stamp_ns: int,
    last_ns: int | None,
    camera: CameraModel | None,
) -> bool:
    """May this frame, skipped for an uncertain heading, search every heading instead?"""
    interval = config.heading_acquire_interval_s
    if interval <= 0 or camera is None or not config.use_network_heading:
        return False
    if not callable(getattr(engine, 'acquire_heading', None)):
        return False
    return last_ns is None or (stamp_ns - last_ns) * 1e-9 >= interval or stamp_ns < last_ns


def tile_prior_px(
    engine: InferenceEngine, center_enu_m: np.ndarray, xy_enu_m: np.ndarray, sigma_m: float
) -> tuple[float, float, float]:
    """An ENU position and std (m) as ``(row, col, sigma)`` pixels of the engine's tile
    centred at ``center_enu_m`` (north up, row 0 north, pixel centres at integers)."""
    res = engine.sat_ground_m / engine.sat_size
    d = (np.asarray(xy_enu_m, np.float64) - np.asarray(center_enu_m, np.float64)) / res
    c = (engine.sat_size - 1) / 2.0
    return float(c - d[1]), float(c + d[0]), float(sigma_m / res)


def step_kwargs(config: LocalizerConfig, engine: InferenceEngine, plan: FramePlan) -> dict:
    """The engine's keyword arguments for ``plan``'s step: ``FrameGeometry.kwargs()``, with
    the filter's position on the tile when ``heading_position_prior`` is on and the engine
    takes it (``takes_position_prior``: engines written before it keep working)."""
    geometry = plan.geometry
    if geometry is None:
        return {}
    takes = getattr(engine, 'takes_position_prior', False)
    if takes and config.heading_position_prior and plan.position is not None:
        xy, sigma_m = plan.position
        px = tile_prior_px(engine, plan.tile.center_enu_m, xy, sigma_m)
        geometry = replace(geometry, position_prior_px=px)
    return geometry.kwargs()


def acquire_heading(engine: Any, plan: FramePlan, image_rgb: np.ndarray) -> Any:
    """Run the engine's heading acquisition for ``plan`` (the prior as tile pixels; north
    up, row 0 north)."""
    xy, sigma_m = plan.position
    row, col, sigma_px = tile_prior_px(engine, plan.tile.center_enu_m, xy, sigma_m)
    return engine.acquire_heading(image_rgb, plan.tile.sat_feats, camera=plan.geometry.camera,
                                  prior_rc_px=(row, col), prior_sigma_px=sigma_px)  # fmt: skip


def tile_query_enu_m(
    config: LocalizerConfig, prior: Estimate, last_fix_enu_m: np.ndarray | None
) -> np.ndarray:
    """Where the tile is wanted: the estimate once it has converged, else the last fix."""
    if max_sigma_m(prior.cov_xy_m2) < config.converged_std_m or last_fix_enu_m is None:
        return np.asarray(prior.xy_enu_m, np.float64)
    return last_fix_enu_m


def grid_measurement(
    config: LocalizerConfig, engine: InferenceEngine, out: Any, plan: FramePlan, frame: Any
) -> tuple[GridBelief, np.ndarray, np.ndarray]:
    """The engine's grid as the filter's measurement: ``(belief, points (K, 2) ENU m, weights
    (K,))``, the weights divided by the tile-centre prior the engine was trained with."""
    belief = GridBelief(out.prob, out.offsets, plan.tile.geo, plan.stamp_ns)
    points = belief.points_enu(frame)
    weights = out.prob.ravel()
    if config.prior_correction:
        weights = divide_centre_prior(weights, points, plan.tile.center_enu_m,
                                      engine.offset_sigma_m, config.prior_cap_sigmas)  # fmt: skip
    return belief, points, weights


def training_camera(engine: InferenceEngine | None) -> CameraModel | None:
    """The camera recorded in the engine's metadata (``camera``: ``CameraModel.to_dict()``)."""
    data = (engine.metadata or {}).get('camera') if engine is not None else None
    if not isinstance(data, dict):
        return None
    try:
        return CameraModel.from_dict(data)
    except ValueError as exc:
        log.warning('ignoring the camera recorded with the model: %s', exc)
        return None
