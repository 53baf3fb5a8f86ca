"""The real engines and the tile service satisfy the protocols the Localizer is typed against."""

import math

import torch

from cvseq_localizer.model.config import ModelConfig
from cvseq_localizer.model.net import build_model
from cvseq_localizer.runtime.engine import InferenceEngine, engine_info
from cvseq_localizer.runtime.torch_engine import TorchEngine
from cvseq_localizer.tile_provider import TileProvider
from cvseq_localizer.tiles import SatelliteTileService, TileServiceConfig
from cvseq_localizer.tiles.directory import DirectoryTileSource

META = {'offset_sigma_m': 8.0, 'sat_ground_m': 48.0, 'trained_on': 'toy'}


def _check_engine(engine) -> None:
    assert isinstance(engine, InferenceEngine)
    assert isinstance(engine.grid_n, int) and isinstance(engine.sat_size, int)
    assert engine.offset_sigma_m == 8.0 and engine.sat_ground_m == 48.0
    info = engine_info(engine)
    assert info['grid_n'] == engine.grid_n and info['trained_on'] == 'toy'


def test_torch_engine_satisfies_the_protocol():
    torch.manual_seed(0)
    _check_engine(TorchEngine(build_model(ModelConfig.preset('tiny')), metadata=META))
    bare = TorchEngine(build_model(ModelConfig.preset('tiny')))
    assert bare.offset_sigma_m == 0.0 and bare.sat_ground_m is None  # no prior correction


def test_onnx_engine_satisfies_the_protocol(tmp_path):
    from cvseq_localizer.runtime.export import export_model
    from cvseq_localizer.runtime.onnx_engine import OrtEngine

    torch.manual_seed(0)
    export_model(build_model(ModelConfig.preset('tiny')).eval(), tmp_path / 'export', extra=META)
    _check_engine(OrtEngine(tmp_path / 'export'))


def test_tile_service_satisfies_the_protocol(tmp_path):
    service = SatelliteTileService(DirectoryTileSource(tmp_path), TileServiceConfig(ground_m=40.0))
    try:
        assert isinstance(service, TileProvider)
        assert math.isclose(service.ground_m, 40.0)
        health = service.health()
        assert health.memory_tiles == 0 and health.pending_fetches == 0
    finally:
        service.close()
