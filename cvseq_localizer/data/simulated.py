"""A training dataset drawn from the simulator: many worlds, sequences along their drives.

Samples are rendered once and cached to disk as ``.npy`` arrays (memory-mapped on load), so
epochs and both training stages reuse them. Each sequence gets a satellite tile whose centre is
offset from the sequence by a Gaussian prior, as in deployment where the tile is centred on the
filter's estimate (seed 004's argument for geographically local training).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset
from tqdm import tqdm

from cvseq_localizer.data.sample import SequenceSample, latlon_to_tile_px
from cvseq_localizer.geo import GeoImage, ground_resolution
from cvseq_localizer.sim.camera import PinholeCamera
from cvseq_localizer.sim.drive import DriveConfig, plan_drive
from cvseq_localizer.sim.ground import GroundRenderer
from cvseq_localizer.sim.scenario import sample_stamps
from cvseq_localizer.sim.world import World, WorldConfig, build_world

log = logging.getLogger(__name__)
CACHE_VERSION = 1


@dataclass(frozen=True)
class SimDatasetConfig:
    """What to render (every field is part of the cache key)."""

    worlds: int = 4  # distinct procedural worlds
    sequences_per_world: int = 100
    frames: int = 6  # camera frames per sequence
    frame_spacing_m: float = 3.0  # travelled distance between frames of a sequence
    tile_ground_m: float = 64.0  # satellite tile edge on the ground (m)
    tile_px: int = 128  # satellite tile edge (px)
    zoom: int = 19  # reference zoom of the tile's georeference
    offset_sigma_m: float = 8.0  # std of the tile-centre offset from the sequence (m, per axis)
    margin_m: float = 2.0  # every frame stays this far inside the tile
    drive_s: float = 240.0  # length of the drive planned in each world
    seed: int = 0  # world w uses seed (seed, w)
    world: WorldConfig = field(default_factory=WorldConfig)
    camera: PinholeCamera = field(default_factory=PinholeCamera)
    drive: DriveConfig = field(default_factory=DriveConfig)

    def key(self) -> str:
        import hashlib

        text = json.dumps({'v': CACHE_VERSION, **asdict(self)}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def tile_geo(world: World, center_xy_m: np.ndarray, cfg: SimDatasetConfig) -> GeoImage:
    """An (empty) square tile of ``tile_ground_m`` centred at an ENU point of ``world``."""
    lat, lon, _ = world.frame.to_geodetic(center_xy_m[0], center_xy_m[1])
    east, north = ground_resolution(float(lat), cfg.zoom)
    scale = (cfg.tile_ground_m / cfg.tile_px / east, cfg.tile_ground_m / cfg.tile_px / north)
    blank = np.zeros((cfg.tile_px, cfg.tile_px, 3), np.uint8)
    return GeoImage.centered(blank, float(lat), float(lon), cfg.zoom, scale)


def _tile_center(xy: np.ndarray, cfg: SimDatasetConfig, rng: np.random.Generator) -> np.ndarray:
    """Sequence centre + N(0, sigma) offset, clamped so every frame keeps the margin."""
    half = cfg.tile_ground_m / 2 - cfg.margin_m
    lo, hi = xy.max(axis=0) - half, xy.min(axis=0) + half
    centre = xy.mean(axis=0) + rng.normal(0.0, cfg.offset_sigma_m, 2)
    return np.clip(centre, lo, np.maximum(lo, hi))


def render_world(cfg: SimDatasetConfig, index: int) -> dict[str, np.ndarray]:
    """All sequences of world ``index``: ground ``[S,T,H,W,3]``, sat, uv ``[S,T,2]``, mpp."""
    rng = np.random.default_rng([cfg.seed, index])
    world_rng, drive_rng, seq_rng, photo_rng = rng.spawn(4)
    world = build_world(cfg.world, world_rng)
    plan = plan_drive(world.network, cfg.drive_s, cfg.drive, drive_rng)
    poses = plan.sample(sample_stamps(0, plan.duration_s, 20.0), 0)
    dist = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(poses.xy_enu_m, axis=0).T))])
    renderer = GroundRenderer(world, cfg.camera)
    span = cfg.frame_spacing_m * (cfg.frames - 1)
    out = {'ground': [], 'sat': [], 'uv': [], 'mpp': []}
    for _ in range(cfg.sequences_per_world):
        start = seq_rng.uniform(0, max(dist[-1] - span, 1e-3))
        idx = np.searchsorted(dist, start + cfg.frame_spacing_m * np.arange(cfg.frames))
        idx = np.minimum(idx, len(dist) - 1)
        xy = poses.xy_enu_m[idx]
        geo = tile_geo(world, _tile_center(xy, cfg, seq_rng), cfg)
        geo = geo.with_image(world.render_aerial(geo))
        lat, lon, _ = world.frame.to_geodetic(xy[:, 0], xy[:, 1])
        out['uv'].append(latlon_to_tile_px(geo, lat, lon))
        out['sat'].append(geo.image)
        out['mpp'].append(float(np.mean(geo.metres_per_pixel())))
        frames = [renderer.render(poses.xy_enu_m[i], float(poses.yaw_rad[i]), photo_rng)
                  for i in idx]  # fmt: skip
        out['ground'].append(np.stack(frames))
    return {k: np.asarray(v) for k, v in out.items()}


class SimulatedDataset(Dataset):
    """Cached simulated sequences (``SequenceSample``), rendering what is missing.

    Args:
        cfg: what to render.
        cache_dir: cache root; the arrays go to ``cache_dir/<cfg.key()>/world_<i>_*.npy``.
        progress: show a progress bar while rendering.
    """

    def __init__(self, cfg: SimDatasetConfig, cache_dir: str | Path = '.cache/simdata',
                 progress: bool = True) -> None:  # fmt: skip
        self.cfg = cfg
        self.dir = Path(cache_dir) / cfg.key()
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / 'config.json').write_text(json.dumps(asdict(cfg), indent=1, default=str))
        self.arrays = []
        todo = [w for w in range(cfg.worlds) if not (self.dir / f'world_{w}_mpp.npy').exists()]
        for w in tqdm(todo, desc='render worlds', disable=not progress or not todo):
            for name, arr in render_world(cfg, w).items():
                np.save(self.dir / f'world_{w}_{name}.npy', arr)
        for w in range(cfg.worlds):
            self.arrays.append({name: np.load(self.dir / f'world_{w}_{name}.npy', mmap_mode='r')
                                for name in ('ground', 'sat', 'uv', 'mpp')})  # fmt: skip

    def __len__(self) -> int:
        return self.cfg.worlds * self.cfg.sequences_per_world

    def __getitem__(self, index: int) -> SequenceSample:
        if not 0 <= index < len(self):
            raise IndexError(index)
        w, s = divmod(index, self.cfg.sequences_per_world)
        a = self.arrays[w]
        ground, sat, uv = (np.asarray(a[k][s]) for k in ('ground', 'sat', 'uv'))
        return SequenceSample(ground, sat, uv, float(a['mpp'][s]), f'sim/{w}/{s}')
