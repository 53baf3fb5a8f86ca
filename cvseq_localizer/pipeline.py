"""Assemble a ready-to-run :class:`Localizer` from one settings object.

The node (through its parameters), the replay tool and the demo all build their localizer here,
so model loading, tile-source opening and the tile/model size contract live in one place.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cvseq_localizer.geo.camera import CameraModel
from cvseq_localizer.localizer import Localizer, LocalizerConfig
from cvseq_localizer.runtime.engine import InferenceEngine
from cvseq_localizer.shipped import GEOMETRIC_MODEL as GEOMETRIC
from cvseq_localizer.tile_provider import TileProvider

log = logging.getLogger(__name__)
DEFAULT_GROUND_M = 72.0


@dataclass
class PipelineConfig:
    """Everything needed to build a localizer.

    Attributes:
        model_path: checkpoint (.pt), ONNX export directory, or ``'geometric'`` for the
            training-free geometric matcher (no weights); '' = no network (GNSS-only).
        engine: 'torch', 'onnx' or 'auto' (the faster one on this machine).
        device: 'cpu' or 'cuda[:N]'.
        providers: ONNX Runtime providers in order of preference (None = best available).
        precision: 'fp32', 'fp16' or 'bf16' (CUDA autocast, torch engine).
        tiles: tile source, e.g. 'mbtiles:///data/area.mbtiles', 'dir:///tiles', an XYZ URL
            template; '' = no imagery (GNSS-only).
        tile_zoom: zoom level of the source tiles.
        tile_ground_m: ground size of the model's input tile in metres; None = the value the
            checkpoint was trained with (``sat_ground_m``), else 72.
        tile_deadline_s: longest wait for a satellite tile per frame, s; None = block until it is
            assembled (offline replay: deterministic). The tile service owns it.
        use_network: False = the GNSS-only filter even with a model and tiles.
        allow_gnss_only: run without model/tiles instead of failing when they are unavailable.
        seed: seed of the particle filter's random generator.
        camera: the camera frames come from (geometry-aware engines); None = the one recorded
            with the model (the node replaces it with CameraInfo when that arrives).
        localizer: the Localizer's own settings (filter included).
    """

    model_path: str = ''
    engine: str = 'auto'
    device: str = 'cpu'
    providers: list[str] | None = None
    precision: str = 'fp32'
    tiles: str = ''
    tile_zoom: int = 19
    tile_ground_m: float | None = None
    tile_deadline_s: float | None = 0.05
    use_network: bool = True
    allow_gnss_only: bool = False
    seed: int = 0
    camera: CameraModel | None = None
    localizer: LocalizerConfig = field(default_factory=LocalizerConfig)


def load_engine_for(cfg: PipelineConfig) -> InferenceEngine | None:
    """The inference engine named by ``cfg`` (None for GNSS-only)."""
    if not cfg.model_path:
        if not cfg.allow_gnss_only:
            raise ValueError('no model_path given and allow_gnss_only is false')
        log.warning('no model: running GNSS-only')
        return None
    if cfg.model_path == GEOMETRIC:
        from cvseq_localizer.matching import GeometricConfig, GeometricMatcher

        ground_m = cfg.tile_ground_m or GeometricConfig.sat_ground_m
        return GeometricMatcher(GeometricConfig(sat_ground_m=float(ground_m)))
    from cvseq_localizer.runtime.factory import load_engine

    path = Path(cfg.model_path).expanduser()
    try:
        return load_engine(path, cfg.engine, cfg.device, cfg.providers, cfg.precision)
    except (OSError, ValueError, RuntimeError) as exc:
        if not cfg.allow_gnss_only:
            raise
        log.error('model %s unusable (%s): running GNSS-only', path, exc)
        return None


def open_tile_service(cfg: PipelineConfig, engine: InferenceEngine) -> TileProvider:
    """The ``SatelliteTileService`` for ``cfg.tiles`` sized to the engine's input."""
    from cvseq_localizer.tiles import SatelliteTileService, TileServiceConfig, open_tile_source

    ground_m = cfg.tile_ground_m or engine.sat_ground_m or DEFAULT_GROUND_M
    service_cfg = TileServiceConfig(
        zoom=int(cfg.tile_zoom),
        tile_px=int(engine.sat_size),
        ground_m=float(ground_m),
        grid_n=int(engine.grid_n),
        deadline_s=cfg.tile_deadline_s,
    )
    return SatelliteTileService(open_tile_source(cfg.tiles), service_cfg)


def network_parts(cfg: PipelineConfig) -> tuple[InferenceEngine, TileProvider] | None:
    """The one place that decides GNSS-only mode: the engine and tiles, or ``None``."""
    if not cfg.use_network:
        log.warning('use_network is false: running GNSS-only')
        return None
    engine = load_engine_for(cfg)
    if engine is None:
        return None
    if not cfg.tiles:
        log.warning('no tile source configured: running GNSS-only')
        return None
    return engine, open_tile_service(cfg, engine)


def build_localizer(cfg: PipelineConfig) -> Localizer:
    """Load the model, open the tiles and create the Localizer (GNSS-only without them)."""
    engine, tiles = network_parts(cfg) or (None, None)
    rng = np.random.default_rng(cfg.seed)
    return Localizer(cfg.localizer, engine, tiles, rng, camera=cfg.camera)
