"""The geo training stream: reserved seeds refused, samples consistent with the world."""

import math

import numpy as np
import pytest

from cvseq_localizer.data.geo_stream import GeoStreamConfig, WorldSequences, random_camera
from cvseq_localizer.model.geo_config import GeoConfig


def test_reserved_seeds_are_refused():
    with pytest.raises(ValueError, match='reserved'):
        WorldSequences(8005, GeoStreamConfig(), GeoConfig())
    with pytest.raises(ValueError, match='reserved'):
        WorldSequences(9099, GeoStreamConfig(), GeoConfig())


def test_random_cameras_see_the_ground():
    rng = np.random.default_rng(0)
    for _ in range(50):
        cam = random_camera(rng).to_model()
        cam.validate()
        assert 60 <= cam.hfov_deg <= 120 and 1.2 <= cam.mount.z_m <= 2.2


def test_sample_shapes_and_truth_inside_the_tile():
    geo = GeoConfig()
    cfg = GeoStreamConfig(world_size_m=160.0, sequences_per_world=2, frames=2)
    ws = WorldSequences(123_456, cfg, geo)
    s = ws.sample(0, np.random.default_rng(0))
    hb = geo.bev_size
    assert s['bev'].shape == (2, 3, hb, hb) and s['mask'].shape == (2, 1, hb, hb)
    assert s['sat'].shape == (3, geo.sat_size, geo.sat_size)
    assert 0.05 < s['mask'].mean() < 0.6  # a forward wedge of the raster sees the ground
    margin = cfg.margin_m / geo.feat_res_m
    assert np.all(s['pos_px'] >= margin - 1e-3) and np.all(s['pos_px'] <= geo.sat_feat - margin)
    assert np.all(np.abs(s['delta']) < math.radians(40))
    # Frames are frame_spacing_m apart along the drive.
    step_m = np.linalg.norm(s['pos_px'][1] - s['pos_px'][0]) * geo.feat_res_m
    assert step_m == pytest.approx(cfg.frame_spacing_m, abs=0.8)
