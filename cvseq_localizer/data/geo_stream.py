"""On-the-fly training data for ``GeoLocNet``: a new procedural town every few dozen samples.

Each world (seeded by ``seed``) gets a random camera (field of view, mount height, pitch, image
size), a drive, and ``sequences_per_world`` sequences of ``frames`` camera frames; every sequence
is reused ``reuse`` times with a fresh tile-centre offset N(0, ``offset_sigma_m``), a fresh heading
prior error N(0, ``heading_sigma_deg``) per frame and satellite photometric jitter. Samples are
plain numpy dicts (``GeoSample`` keys), so a DataLoader worker can produce them.

Seeds: the training stream uses ``seed_start + i``; keep it clear of 8000-8099 (development) and
9000-9099 (benchmark). Validation uses its own block (``VAL_SEED_START``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
from torch.utils.data import IterableDataset, get_worker_info

from cvseq_localizer.data.sample import latlon_to_tile_px
from cvseq_localizer.data.simulated import SimDatasetConfig, tile_geo
from cvseq_localizer.model.geo_config import FEATURE_STRIDE, GeoConfig
from cvseq_localizer.model.geo_inputs import bev_input, sat_input
from cvseq_localizer.sim.camera import PinholeCamera
from cvseq_localizer.sim.drive import DriveConfig, plan_drive
from cvseq_localizer.sim.ground import GroundRenderer
from cvseq_localizer.sim.scenario import sample_stamps
from cvseq_localizer.sim.world import WorldConfig, build_world

TRAIN_SEED_START = 100_000
VAL_SEED_START = 7000
RESERVED_SEEDS = (range(8000, 8100), range(9000, 9100))
IMAGE_SIZES = ((320, 96), (320, 128), (384, 144), (256, 192), (320, 180))


@dataclass(frozen=True)
class GeoStreamConfig:
    """What the stream renders."""

    seed_start: int = TRAIN_SEED_START
    num_worlds: int = 1_000_000  # the stream stops after this many worlds
    world_size_m: float = 240.0
    sequences_per_world: int = 16
    frames: int = 4
    frame_spacing_m: float = 3.0
    reuse: int = 1
    offset_sigma_m: float = 8.0
    heading_sigma_deg: float = 8.0
    margin_m: float = 2.0
    random_camera: bool = True


def random_camera(rng: np.random.Generator) -> PinholeCamera:
    """Field of view 60-120 deg, height 1.2-2.2 m, pitch 0-10 deg, one of ``IMAGE_SIZES``."""
    w, h = IMAGE_SIZES[rng.integers(len(IMAGE_SIZES))]
    return PinholeCamera(
        width_px=w,
        height_px=h,
        hfov_deg=float(rng.uniform(60, 120)),
        height_m=float(rng.uniform(1.2, 2.2)),
        pitch_rad=math.radians(float(rng.uniform(0, 10))),
    )


def _jitter_tile(tile: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    gain = rng.uniform(0.8, 1.2) * rng.normal(1.0, 0.04, 3)
    x = tile.astype(np.float32) * gain + rng.uniform(-15, 15)
    return np.clip(x, 0, 255).astype(np.uint8)


class WorldSequences:
    """The rendered sequences of one world, ready to be cut into samples."""

    def __init__(self, seed: int, cfg: GeoStreamConfig, geo: GeoConfig) -> None:
        if any(seed in r for r in RESERVED_SEEDS):
            raise ValueError(f'world seed {seed} is reserved for development/benchmark')
        rng = np.random.default_rng([seed, 12])
        world_rng, drive_rng, self.rng, photo_rng, cam_rng = rng.spawn(5)
        wcfg = replace(
            WorldConfig(),
            size_m=cfg.world_size_m,
            sun_azimuth_deg=float(cam_rng.uniform(0, 360)),
            sun_elevation_deg=float(cam_rng.uniform(30, 70)),
        )
        self.world = build_world(wcfg, world_rng)
        self.camera = random_camera(cam_rng) if cfg.random_camera else PinholeCamera()
        self.model = self.camera.to_model()
        self.cfg, self.geo = cfg, geo
        self.tile_cfg = SimDatasetConfig(tile_ground_m=geo.sat_ground_m, tile_px=geo.sat_size)
        plan = plan_drive(self.world.network, 120.0, DriveConfig(), drive_rng)
        poses = plan.sample(sample_stamps(0, plan.duration_s, 20.0), 0)
        d = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(poses.xy_enu_m, axis=0).T))])
        renderer = GroundRenderer(self.world, self.camera)
        span = cfg.frame_spacing_m * (cfg.frames - 1)
        self.seqs = []
        for _ in range(cfg.sequences_per_world):
            start = self.rng.uniform(0, max(d[-1] - span, 1e-3))
            idx = np.searchsorted(d, start + cfg.frame_spacing_m * np.arange(cfg.frames))
            idx = np.minimum(idx, len(d) - 1)
            xy, yaw = poses.xy_enu_m[idx], poses.yaw_rad[idx]
            images = [renderer.render(p, float(y), photo_rng) for p, y in zip(xy, yaw)]
            self.seqs.append((xy, yaw, images))

    def sample(self, i: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Sequence ``i`` with a fresh tile offset and heading-prior errors."""
        xy, yaw, images = self.seqs[i]
        cfg, geo = self.cfg, self.geo
        half = geo.sat_ground_m / 2 - cfg.margin_m
        lo, hi = xy.max(axis=0) - half, xy.min(axis=0) + half
        centre = np.clip(xy.mean(axis=0) + rng.normal(0, cfg.offset_sigma_m, 2), lo, hi)
        gimg = tile_geo(self.world, centre, self.tile_cfg)
        tile = _jitter_tile(self.world.render_aerial(gimg), rng)
        lat, lon, _ = self.world.frame.to_geodetic(xy[:, 0], xy[:, 1])
        uv = latlon_to_tile_px(gimg, lat, lon) * (geo.sat_size / tile.shape[0])
        delta = rng.normal(0, math.radians(cfg.heading_sigma_deg), len(yaw))
        bevs, masks = zip(*(bev_input(im, self.model, geo, float(y - dl))
                            for im, y, dl in zip(images, yaw, delta)))  # fmt: skip
        return {
            'bev': np.stack(bevs),  # [T, 3, Hb, Wb]
            'mask': np.stack(masks),  # [T, 1, Hb, Wb]
            'sat': sat_input(tile, geo),  # [3, S, S]
            'pos_px': (uv / FEATURE_STRIDE).astype(np.float32),  # [T, 2] feature px (x, y)
            'delta': delta.astype(np.float32),  # [T] true heading - prior (rad)
        }


class GeoStream(IterableDataset):
    """Endless (or ``num_worlds``-long) stream of samples; DataLoader workers split the seeds."""

    def __init__(self, cfg: GeoStreamConfig, geo: GeoConfig, shuffle_buffer: int = 16) -> None:
        self.cfg, self.geo, self.shuffle_buffer = cfg, geo, shuffle_buffer

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info is not None else (0, 1)
        rng = np.random.default_rng([self.cfg.seed_start, wid, 99])
        buffer: list[dict[str, np.ndarray]] = []
        for w in range(wid, self.cfg.num_worlds, nw):
            ws = WorldSequences(self.cfg.seed_start + w, self.cfg, self.geo)
            for _ in range(self.cfg.reuse):
                for i in rng.permutation(len(ws.seqs)):
                    buffer.append(ws.sample(int(i), rng))
                    if len(buffer) >= self.shuffle_buffer:
                        yield buffer.pop(int(rng.integers(len(buffer))))
        rng.shuffle(buffer)
        yield from buffer


def validation_set(
    geo: GeoConfig, worlds: int = 10, per_world: int = 8, seed_start: int = VAL_SEED_START
) -> list[dict[str, np.ndarray]]:
    """A fixed held-out set: ``worlds`` towns from ``seed_start``, ``per_world`` sequences."""
    cfg = GeoStreamConfig(seed_start=seed_start, sequences_per_world=per_world)
    out = []
    for w in range(worlds):
        ws = WorldSequences(seed_start + w, cfg, geo)
        rng = np.random.default_rng([seed_start + w, 5])
        out.extend(ws.sample(i, rng) for i in range(per_world))
    return out
