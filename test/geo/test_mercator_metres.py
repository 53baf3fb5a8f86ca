import numpy as np
import pytest
from pyproj import Transformer

from cvseq_localizer.geo import (
    latlon_to_world_px,
    mercator_m_to_world_px,
    world_px_to_mercator_m,
)


def test_mercator_metres_agree_with_pyproj_and_round_trip():
    lat = np.array([49.0092, -33.86, 0.0, 85.0])
    lon = np.array([8.4194, 151.21, 0.0, -179.9])
    x_m, y_m = Transformer.from_crs(4326, 3857, always_xy=True).transform(lon, lat)
    px, py = mercator_m_to_world_px(x_m, y_m, 20)
    ex, ey = latlon_to_world_px(lat, lon, 20)
    np.testing.assert_allclose(px, ex, atol=1e-4)
    np.testing.assert_allclose(py, ey, atol=1e-4)
    bx, by = world_px_to_mercator_m(px, py, 20)
    np.testing.assert_allclose(bx, x_m, atol=1e-6)
    np.testing.assert_allclose(by, y_m, atol=1e-6)
    assert mercator_m_to_world_px(0.0, 0.0, 0) == pytest.approx((128.0, 128.0))
