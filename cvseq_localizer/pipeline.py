"""Assemble a ready-to-run :class:`Localizer` from one settings object.

The node (through its parameters), the replay tool and the demo all build their localizer here,
so model loading, tile-source opening and the tile/model size contract live in one place.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from cvseq_localizer.localizer import Localizer, LocalizerConfig

log = logging.getLogger(__name__)
DEFAULT_GROUND_M = 72.0


@dataclass
class PipelineConfig:
    """Everything needed to build a localizer.

    Attributes:
        model_path: checkpoint (.pt) or ONNX export directory; '' = no network (GNSS-only).
        engine: 'torch', 'onnx' or 'auto' (the faster one on this machine).
        device: 'cpu' or 'cuda[:N]'.
        providers: ONNX Runtime providers in order of preference (None = best available).
        precision: 'fp32', 'fp16' or 'bf16' (CUDA autocast, torch engine).
        tiles: tile source, e.g. 'mbtiles:///data/area.mbtiles', 'dir:///tiles', an XYZ URL
            template; '' = no imagery (GNSS-only).
        tile_zoom: zoom level of the source tiles.
        tile_ground_m: ground size of the model's input tile in metres; None = the value the
            checkpoint was trained with (``sat_ground_m``), else 72.
        allow_gnss_only: run without model/tiles instead of failing when they are unavailable.
        seed: seed of the particle filter's random generator.
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
    allow_gnss_only: bool = False
    seed: int = 0
    localizer: LocalizerConfig = field(default_factory=LocalizerConfig)


def load_engine_for(cfg: PipelineConfig) -> Any | None:
    """The inference engine named by ``cfg`` (None for GNSS-only)."""
    if not cfg.model_path:
        if not cfg.allow_gnss_only:
            raise ValueError('no model_path given and allow_gnss_only is false')
        log.warning('no model: running GNSS-only')
        return None
    from cvseq_localizer.runtime.factory import load_engine

    path = Path(cfg.model_path).expanduser()
    try:
        return load_engine(path, cfg.engine, cfg.device, cfg.providers, cfg.precision)
    except (OSError, ValueError, RuntimeError) as exc:
        if not cfg.allow_gnss_only:
            raise
        log.error('model %s unusable (%s): running GNSS-only', path, exc)
        return None


def open_tile_service(cfg: PipelineConfig, engine: Any | None) -> Any | None:
    """The ``SatelliteTileService`` for ``cfg`` sized to the engine's input (None if no tiles)."""
    if engine is None or not cfg.tiles:
        if engine is not None:
            log.warning('no tile source configured: running GNSS-only')
        return None
    from cvseq_localizer.tiles import SatelliteTileService, TileServiceConfig, open_tile_source

    ground_m = cfg.tile_ground_m or float(engine.metadata.get('sat_ground_m', DEFAULT_GROUND_M))
    service_cfg = TileServiceConfig(
        zoom=int(cfg.tile_zoom),
        tile_px=int(engine.sat_size),
        ground_m=float(ground_m),
        grid_n=int(engine.grid_n),
        deadline_s=cfg.localizer.tile_deadline_s,
    )
    return SatelliteTileService(open_tile_source(cfg.tiles), service_cfg)


def build_localizer(cfg: PipelineConfig) -> Localizer:
    """Load the model, open the tiles and create the Localizer."""
    engine = load_engine_for(cfg)
    tiles = open_tile_service(cfg, engine)
    if engine is not None and tiles is None:
        engine = None
    localizer_cfg = replace(cfg.localizer, use_network=cfg.localizer.use_network and bool(tiles))
    return Localizer(localizer_cfg, engine, tiles, np.random.default_rng(cfg.seed))
