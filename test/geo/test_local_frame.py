import numpy as np
import pytest
from pyproj import Geod

from cvseq_localizer.geo import LocalFrame

GEOD = Geod(ellps='WGS84')


@pytest.mark.parametrize(('lat0', 'lon0'), [(49.0092, 8.4194), (51.752, -1.2577), (-33.9, 151.2)])
def test_enu_distances_match_geodesic_to_1cm_over_1km(lat0, lon0):
    frame = LocalFrame(lat0, lon0, 0.0)
    rng = np.random.default_rng(1)
    az = rng.uniform(0, 360, 50)
    dist = rng.uniform(10, 1000, 50)
    lon, lat, _ = GEOD.fwd(np.full(50, lon0), np.full(50, lat0), az, dist)
    e, n, u = frame.to_enu(lat, lon, 0.0)
    # The geodesic is measured on the ellipsoid; the ENU chord differs by < 1 cm at 1 km.
    assert np.max(np.abs(np.hypot(e, n) - dist)) < 0.01
    bearing = np.degrees(np.arctan2(e, n)) % 360
    err = (bearing - az + 180) % 360 - 180
    assert np.max(np.abs(err)) < 1e-3


def test_round_trip_enu():
    frame = LocalFrame(49.0, 8.4)
    lat, lon, alt = frame.to_geodetic(np.array([0.0, 123.4, -500.0]), np.array([0.0, -7.0, 800.0]))
    e, n, u = frame.to_enu(lat, lon, alt)
    np.testing.assert_allclose(e, [0.0, 123.4, -500.0], atol=1e-6)
    np.testing.assert_allclose(n, [0.0, -7.0, 800.0], atol=1e-6)
    assert lat[0] == pytest.approx(49.0) and lon[0] == pytest.approx(8.4)


def test_east_is_east():
    frame = LocalFrame(49.0, 8.4)
    e, n, _ = frame.to_enu(49.0, 8.401)
    assert e > 70 and abs(n) < 0.01


def test_bad_datum_and_values():
    with pytest.raises(ValueError, match='latitude nan'):
        LocalFrame(float('nan'), 8.0)
    frame = LocalFrame(49.0, 8.4)
    with pytest.raises(ValueError, match='longitude 200'):
        frame.to_enu(49.0, 200.0)
    with pytest.raises(ValueError, match='not finite'):
        frame.to_geodetic(float('nan'), 0.0)
