import numpy as np
import pytest

from cvseq_localizer.geo import GeoImage, LocalFrame, ground_resolution, latlon_to_world_px


def make(scale=(0.5, 0.5), size=256):
    return GeoImage.centered(np.zeros((size, size, 3), np.uint8), 49.0092, 8.4194, 20, scale)


def test_center_and_corners():
    geo = make()
    lat, lon = geo.center_latlon
    assert lat == pytest.approx(49.0092, abs=1e-9) and lon == pytest.approx(8.4194, abs=1e-9)
    x0, y0, x1, y1 = geo.bounds_world_px()
    assert x1 - x0 == pytest.approx(128.0) and y1 - y0 == pytest.approx(128.0)
    cx, cy = latlon_to_world_px(49.0092, 8.4194, 20)
    assert (x0 + x1) / 2 == pytest.approx(float(cx))


def test_pixel_latlon_round_trip_sub_mm():
    geo = make()
    u = np.linspace(-50, 300, 71)
    v = np.linspace(300, -50, 71)
    lat, lon = geo.pixel_to_latlon(u, v)
    u2, v2 = geo.latlon_to_pixel(lat, lon)
    mpp = geo.metres_per_pixel()
    assert np.max(np.abs(u2 - u)) * mpp[0] < 1e-3
    assert np.max(np.abs(v2 - v)) * mpp[1] < 1e-3


def test_pixel_enu_round_trip_and_metric_scale():
    geo = make()
    frame = LocalFrame(*geo.center_latlon)
    e, n = geo.pixel_to_enu(np.array([128.0, 228.0, 128.0]), np.array([128.0, 128.0, 28.0]), frame)
    east_res, north_res = ground_resolution(49.0092, 20)
    assert e[0] == pytest.approx(0.0, abs=1e-6) and n[0] == pytest.approx(0.0, abs=1e-6)
    # 100 px east at half-scale = 50 world px; north is up (row decreases).
    assert e[1] == pytest.approx(50 * east_res, rel=1e-4)
    assert n[2] == pytest.approx(50 * north_res, rel=1e-4)
    u, v = geo.enu_to_pixel(e, n, frame)
    np.testing.assert_allclose(u, [128.0, 228.0, 128.0], atol=1e-6)
    np.testing.assert_allclose(v, [128.0, 128.0, 28.0], atol=1e-6)


def test_resize_keeps_footprint():
    geo = make()
    small = geo.with_image(np.zeros((64, 64, 3), np.uint8))
    assert small.bounds_world_px() == pytest.approx(geo.bounds_world_px())
    assert small.metres_per_pixel()[0] == pytest.approx(4 * geo.metres_per_pixel()[0])
    assert small.center_latlon == pytest.approx(geo.center_latlon)


def test_contains_and_validation():
    geo = make()
    mask = geo.contains_pixel(np.array([0.0, 255.9, 256.0, -0.1]), np.array([0.0, 1.0, 1.0, 1.0]))
    assert mask.tolist() == [True, True, False, False]
    with pytest.raises(ValueError, match='scale'):
        GeoImage(np.zeros((4, 4)), 20, (0.0, 0.0), (0.0, 1.0))
    with pytest.raises(ValueError, match='shape'):
        GeoImage(np.zeros(4), 20, (0.0, 0.0))
