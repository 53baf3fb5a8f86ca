import math

import mercantile
import numpy as np
import pytest

from cvseq_localizer.geo import (
    check_latlon,
    ground_resolution,
    latlon_to_world_px,
    quadkey,
    tile_index,
    tms_row,
    world_px_to_latlon,
)


def test_known_tile_indices():
    # Berlin at zoom 10 is the OSM wiki's worked example; Karlsruhe computed by hand from
    # FACTS.md section 3 (x = 137202.9, y = 90015.8 at zoom 18).
    assert tile_index(52.52, 13.405, 10) == (550, 335, 10)
    assert tile_index(49.0092, 8.4194, 18) == (137202, 90015, 18)
    assert tile_index(51.7520, -1.2577, 20) == mercantile.tile(-1.2577, 51.7520, 20)[:3]
    assert tile_index(0.0, 0.0, 1) == (1, 1, 1)
    assert tms_row(0, 3) == 7
    assert quadkey(3, 5, 3) == '213'


def test_world_px_matches_tile_bounds():
    x, y, z = tile_index(49.0092, 8.4194, 18)
    west, south, east, north = mercantile.bounds(x, y, z)
    px, py = latlon_to_world_px(north, west, z)
    assert px == pytest.approx(x * 256, abs=1e-6)
    assert py == pytest.approx(y * 256, abs=1e-6)
    px, py = latlon_to_world_px(south, east, z)
    assert px == pytest.approx((x + 1) * 256, abs=1e-6)
    assert py == pytest.approx((y + 1) * 256, abs=1e-6)


def test_round_trip_latlon_pixel_sub_millimetre():
    rng = np.random.default_rng(0)
    lat = rng.uniform(-80, 80, 1000)
    lon = rng.uniform(-179.9, 179.9, 1000)
    x, y = latlon_to_world_px(lat, lon, 20)
    lat2, lon2 = world_px_to_latlon(x, y, 20)
    east_m = np.radians(lon2 - lon) * 6378137 * np.cos(np.radians(lat))
    north_m = np.radians(lat2 - lat) * 6378137
    assert np.max(np.hypot(east_m, north_m)) < 1e-3


def test_ground_resolution_per_axis():
    east, north = ground_resolution(0.0, 0)
    assert east == pytest.approx(156543.03392804097)
    assert north == pytest.approx(156543.03392804097 * (1 - 0.00669437999014))
    # Differs from the spherical shortcut by ~0.2 % at mid latitudes.
    east, north = ground_resolution(50.0, 20)
    spherical = 156543.03392804097 * math.cos(math.radians(50)) / 2**20
    assert east / spherical - 1 == pytest.approx(0.00197, abs=2e-4)
    assert north < spherical < east


@pytest.mark.parametrize(
    ('lat', 'lon', 'needle'),
    [
        (float('nan'), 0.0, 'latitude nan'),
        (86.0, 0.0, 'latitude 86.0'),
        (-85.1, 0.0, 'latitude -85.1'),
        (10.0, 181.0, 'longitude 181.0'),
        (10.0, float('inf'), 'longitude inf'),
    ],
)
def test_bad_latlon_raises_naming_value(lat, lon, needle):
    with pytest.raises(ValueError, match=needle):
        check_latlon(lat, lon)
    with pytest.raises(ValueError, match=needle):
        latlon_to_world_px(lat, lon, 18)
    with pytest.raises(ValueError, match=needle):
        tile_index(lat, lon, 18)


def test_bad_value_in_array_is_named():
    with pytest.raises(ValueError, match='latitude 91.0'):
        latlon_to_world_px(np.array([10.0, 91.0]), np.array([0.0, 0.0]), 18)
