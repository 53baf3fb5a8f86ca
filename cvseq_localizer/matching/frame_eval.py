"""Single-frame localisation benchmark for any engine with the extended ``step``.

A frame is one rendered camera image, a satellite tile centred ``N(0, offset_sigma_m)`` (per axis)
from the truth, and a heading prior whose error is ``N(0, heading_sigma_deg)``: the setting of
``FACTS.md`` section 6 and of issue 12's ``network_median_m`` goal.

Worlds come from seeds that no training run uses:

- ``BENCH_SEEDS`` = 9000-9099: benchmark worlds (reported numbers);
- ``DEV_SEEDS`` = 8000-8099: development worlds (fitting temperatures, tuning).

Training uses other seeds. ``make_eval_frames`` builds world ``s`` with
``np.random.default_rng(s)``, so a seed always gives the same town; the frames, tile offsets and
heading errors come from the ``rng`` passed in.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from cvseq_localizer.data.sample import latlon_to_tile_px
from cvseq_localizer.data.simulated import SimDatasetConfig, tile_geo
from cvseq_localizer.geo import GeoImage, LocalFrame
from cvseq_localizer.geo.camera import CameraModel
from cvseq_localizer.sim.camera import PinholeCamera
from cvseq_localizer.sim.drive import DriveConfig, plan_drive
from cvseq_localizer.sim.ground import GroundRenderer
from cvseq_localizer.sim.world import WorldConfig, build_world
from cvseq_localizer.types import GridBelief

BENCH_SEEDS = range(9000, 9100)
DEV_SEEDS = range(8000, 8100)
MARGIN_M = 2.0  # the truth stays this far inside the tile
DRIVE_S = 120.0  # planned drive per world; frames are drawn uniformly along its path
_LAST_CPU_S = [0.0]  # process CPU seconds of the last run_frame step (all threads)


@dataclass(frozen=True)
class EvalFrame:
    """One benchmark frame (ENU metres in ``frame``'s local frame; yaw REP-103 radians).

    Attributes:
        ground_rgb: ``H x W x 3`` uint8 camera image.
        tile: north-up satellite tile (``GeoImage``) containing the truth.
        camera: the core camera model the image was rendered with.
        true_uv_px: ``(2,)`` truth ``(u, v)`` in tile pixels (corner-based).
        true_xy_enu_m: ``(2,)`` truth in the world's ENU frame.
        true_offset_enu_m: ``(2,)`` truth minus the tile centre (east, north).
        true_yaw_rad / yaw_prior_rad: true heading and the prior given to the engine.
        heading_sigma_rad: std of the prior's error (passed to the engine as its std).
        local_frame: the world's ENU datum.
        name: ``seed/index`` for logs.
    """

    ground_rgb: np.ndarray
    tile: GeoImage
    camera: CameraModel
    true_uv_px: np.ndarray
    true_xy_enu_m: np.ndarray
    true_offset_enu_m: np.ndarray
    true_yaw_rad: float
    yaw_prior_rad: float
    heading_sigma_rad: float
    local_frame: LocalFrame
    name: str


def _cameras(camera: PinholeCamera | CameraModel) -> tuple[Any, CameraModel]:
    """(what the renderer takes, the core model). Renders with a CameraModel if sim can."""
    if isinstance(camera, PinholeCamera):
        return camera, camera.to_model()
    return camera, camera


def make_eval_frames(
    seeds,
    frames_per_seed: int,
    camera: PinholeCamera | CameraModel,
    rng: np.random.Generator,
    tile_ground_m: float = 64.0,
    tile_px: int = 128,
    offset_sigma_m: float = 8.0,
    heading_sigma_deg: float = 8.0,
    world_config: WorldConfig | None = None,
) -> list[EvalFrame]:
    """``len(seeds) * frames_per_seed`` frames, ``frames_per_seed`` per world (see module doc).

    ``world_config`` defaults to ``WorldConfig()`` (the towns training renders); tests pass a
    smaller world to render faster.
    """
    render_cam, model = _cameras(camera)
    tile_cfg = SimDatasetConfig(tile_ground_m=tile_ground_m, tile_px=tile_px)
    sigma_yaw = math.radians(heading_sigma_deg)
    half = tile_ground_m / 2.0 - MARGIN_M
    frames = []
    for seed in seeds:
        world_rng, drive_rng = np.random.default_rng(int(seed)).spawn(2)
        world = build_world(world_config or WorldConfig(), world_rng)
        plan = plan_drive(world.network, DRIVE_S, DriveConfig(), drive_rng)
        renderer = GroundRenderer(world, render_cam)
        idx = np.sort(rng.choice(len(plan.path_enu_m), frames_per_seed, replace=False))
        for i in idx:
            xy = plan.path_enu_m[i].astype(np.float64)
            yaw = float(np.angle(np.exp(1j * plan.heading_rad[i])))
            ground = renderer.render(xy, yaw, rng)
            centre = xy + np.clip(rng.normal(0.0, offset_sigma_m, 2), -half, half)
            geo = tile_geo(world, centre, tile_cfg)
            geo = geo.with_image(world.render_aerial(geo))
            lat, lon, _ = world.frame.to_geodetic(xy[0], xy[1])
            uv = latlon_to_tile_px(geo, lat, lon)[0]
            prior = float(np.angle(np.exp(1j * (yaw + rng.normal(0.0, sigma_yaw)))))
            frames.append(EvalFrame(ground, geo, model, uv, xy, xy - centre, yaw, prior,
                                    sigma_yaw, world.frame, f'{seed}/{i}'))  # fmt: skip
    return frames


def estimate_xy_enu(out, frame: EvalFrame) -> np.ndarray:
    """``(2,)`` ENU position of the engine output's argmax cell + offset."""
    belief = GridBelief(np.asarray(out.prob), np.asarray(out.offsets), frame.tile)
    return belief.argmax_enu(frame.local_frame)


def run_frame(engine, frame: EvalFrame) -> tuple[Any, float]:
    """``(EngineOutput, step wall seconds)`` of one frame (the tile encoding is not timed).

    Engines with ``needs_camera`` get the camera and the heading prior as keywords; others (the
    perspective networks) get the plain protocol call, so the same frames rate both.
    """
    feats = engine.encode_satellite(frame.tile.image)
    _LAST_CPU_S[0] = time.process_time()
    t0 = time.perf_counter()
    if getattr(engine, 'needs_camera', False):
        out = engine.step(frame.ground_rgb, feats, None, camera=frame.camera,
                          yaw_prior_rad=frame.yaw_prior_rad,
                          yaw_prior_std_rad=frame.heading_sigma_rad)  # fmt: skip
    else:
        out = engine.step(frame.ground_rgb, feats, None)
    wall = time.perf_counter() - t0
    _LAST_CPU_S[0] = time.process_time() - _LAST_CPU_S[0]
    return out, wall


def _wrap_deg(a_rad: np.ndarray) -> np.ndarray:
    return np.degrees(np.abs(np.angle(np.exp(1j * np.asarray(a_rad)))))


def evaluate_engine(engine, frames: list[EvalFrame]) -> dict[str, float]:
    """Run ``engine`` on every frame; flat statistics (units in the key names).

    Keys: ``n_frames``, ``median_m``, ``mean_m``, ``p90_m``, ``within_1m``, ``within_4m``
    (fractions), ``prior_median_m`` (tile centre as the estimate), ``heading_err_median_deg``,
    ``heading_err_mean_deg`` (the engine's heading; the prior's error when it gives none),
    ``prior_heading_err_median_deg``, ``uninformative_frac``, ``step_p50_ms``, ``step_p90_ms``
    (wall time) and ``step_cpu_p50_ms`` (process CPU time: less sensitive to other jobs on the
    shared cores).
    """
    err, head, prior_head, prior_err, secs, cpu, blind = [], [], [], [], [], [], 0
    for f in frames:
        out, dt = run_frame(engine, f)
        secs.append(dt)
        cpu.append(_LAST_CPU_S[0])
        err.append(float(np.hypot(*(estimate_xy_enu(out, f) - f.true_xy_enu_m))))
        prior_err.append(float(np.hypot(*f.true_offset_enu_m)))
        heading = getattr(out, 'heading', None)
        yaw = heading.yaw_rad if heading is not None and heading.informative else f.yaw_prior_rad
        blind += int(heading is not None and not heading.informative)
        head.append(float(_wrap_deg(yaw - f.true_yaw_rad)))
        prior_head.append(float(_wrap_deg(f.yaw_prior_rad - f.true_yaw_rad)))
    e, h, ms = np.asarray(err), np.asarray(head), np.asarray(secs) * 1e3
    return {
        'n_frames': len(frames),
        'median_m': float(np.median(e)),
        'mean_m': float(np.mean(e)),
        'p90_m': float(np.quantile(e, 0.9)),
        'within_1m': float(np.mean(e <= 1.0)),
        'within_4m': float(np.mean(e <= 4.0)),
        'prior_median_m': float(np.median(prior_err)),
        'heading_err_median_deg': float(np.median(h)),
        'heading_err_mean_deg': float(np.mean(h)),
        'prior_heading_err_median_deg': float(np.median(prior_head)),
        'uninformative_frac': blind / max(len(frames), 1),
        'step_p50_ms': float(np.median(ms)),
        'step_p90_ms': float(np.quantile(ms, 0.9)),
        'step_cpu_p50_ms': float(np.median(cpu) * 1e3),
    }
