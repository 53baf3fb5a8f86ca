import numpy as np

from cvseq_localizer.data.simulated import SimDatasetConfig, SimulatedDataset, tile_geo
from cvseq_localizer.sim.camera import PinholeCamera
from cvseq_localizer.sim.world import WorldConfig, build_world

CFG = SimDatasetConfig(
    worlds=2,
    sequences_per_world=3,
    frames=3,
    drive_s=30.0,
    world=WorldConfig(size_m=200.0, res_m=0.4),
    camera=PinholeCamera(width_px=64, height_px=24),
)


def test_samples_are_labelled_and_cached(tmp_path):
    ds = SimulatedDataset(CFG, tmp_path, progress=False)
    assert len(ds) == 6
    s = ds[4]
    assert s.ground.shape == (3, 24, 64, 3) and s.sat.shape == (128, 128, 3)
    margin_px = CFG.margin_m / s.metres_per_px
    assert np.all(s.uv_px >= margin_px - 1e-6) and np.all(s.uv_px <= 128 - margin_px + 1e-6)
    assert abs(s.metres_per_px - CFG.tile_ground_m / CFG.tile_px) < 1e-3
    files = sorted((tmp_path / CFG.key()).glob('*.npy'))
    stamps = [f.stat().st_mtime_ns for f in files]
    again = SimulatedDataset(CFG, tmp_path, progress=False)  # served from the cache
    assert [f.stat().st_mtime_ns for f in files] == stamps
    np.testing.assert_array_equal(again[4].ground, s.ground)


def test_tile_geo_is_centred_and_metric():
    world = build_world(CFG.world, np.random.default_rng(0))
    geo = tile_geo(world, np.array([10.0, -5.0]), CFG)
    e, n = geo.pixel_to_enu(np.array([64.0, 128.0]), np.array([64.0, 64.0]), world.frame)
    np.testing.assert_allclose([e[0], n[0]], [10.0, -5.0], atol=1e-3)
    assert abs((e[1] - e[0]) - CFG.tile_ground_m / 2) < 1e-3
