"""Camera frames are consistent with the map: markers land where the camera model predicts."""

from dataclasses import replace

import numpy as np
import pytest
from sim_testkit import SMALL, lane_pose

from cvseq_localizer.geo import GeoImage
from cvseq_localizer.sim.camera import PinholeCamera
from cvseq_localizer.sim.ground import GroundRenderer
from cvseq_localizer.sim.layers import polygon_mask
from cvseq_localizer.sim.polyline import rect_polygon
from cvseq_localizer.sim.world import build_world

MAGENTA = (255, 0, 255)
# No parked cars: nothing may hide the markers next to the lane.
CLEAR = replace(SMALL, parked_car_prob=0.0)


def _magenta(img: np.ndarray) -> np.ndarray:
    # Shading and haze scale the colour; magenta stays 'red and blue, no green'.
    r, g, b = (img[..., i].astype(int) for i in range(3))
    return (r > 60) & (b > 60) & (r > 2 * g + 20) & (b > 2 * g + 20)


@pytest.fixture(scope='module')
def pole_world():
    world = build_world(CLEAR, np.random.default_rng(7))
    xy, yaw, fwd = lane_pose(world)
    pole_xy = xy + 12.0 * fwd
    world.add_pole(pole_xy, radius_m=0.3, height_m=3.0, rgb=MAGENTA)
    return world, xy, yaw, pole_xy


@pytest.mark.parametrize('pitch_rad', [0.0, 0.06])
@pytest.mark.parametrize('yaw_offset', [0.0, 0.35, -0.5])
def test_pole_appears_at_the_projected_pixel(pole_world, pitch_rad, yaw_offset):
    world, xy, yaw, pole_xy = pole_world
    cam = PinholeCamera(width_px=320, height_px=96, pitch_rad=pitch_rad)
    img = GroundRenderer(world, cam).render(xy, yaw + yaw_offset)
    mask = _magenta(img)
    assert mask.sum() > 20, 'the pole is not visible'
    rows, cols = np.nonzero(mask)
    mid_h = cam.height_m
    uv, _ = cam.project(np.array([[*pole_xy, mid_h], [*pole_xy, 3.0]]), xy, yaw + yaw_offset)
    centre_row = rows[np.abs(rows + 0.5 - uv[0, 1]) < 3]
    centre_cols = cols[np.abs(rows + 0.5 - uv[0, 1]) < 3]
    assert centre_row.size > 0
    assert abs(centre_cols.mean() + 0.5 - uv[0, 0]) < 1.0
    # The top of the pole (3 m) is at the projected row, within the raster quantisation.
    assert abs(rows.min() - uv[1, 1]) < 1.5


def test_pole_appears_at_the_projected_pixel_of_the_aerial_view(pole_world):
    world, _, _, pole_xy = pole_world
    lat, lon, _ = world.frame.to_geodetic(pole_xy[0], pole_xy[1])
    geo = GeoImage.centered(np.zeros((128, 128, 3), np.uint8), float(lat) + 1e-5, float(lon), 20)
    img = world.render_aerial(geo)
    rows, cols = np.nonzero(_magenta(img))
    u, v = geo.enu_to_pixel(pole_xy[0], pole_xy[1], world.frame)
    assert rows.size > 10
    assert abs(cols.mean() + 0.5 - u) < 0.7 and abs(rows.mean() + 0.5 - v) < 0.7


def test_nearer_objects_occlude_farther_ones():
    world = build_world(CLEAR, np.random.default_rng(7))
    xy, yaw, fwd = lane_pose(world)
    world.add_pole(xy + 8.0 * fwd, radius_m=0.6, height_m=2.5, rgb=(0, 255, 0))
    world.add_pole(xy + 16.0 * fwd, radius_m=0.3, height_m=5.0, rgb=MAGENTA)
    cam = PinholeCamera(pitch_rad=0.0)
    img = GroundRenderer(world, cam).render(xy, yaw)
    rows, _ = np.nonzero(_magenta(img))
    (near_top, far_top), _ = cam.project(
        np.array([[*(xy + 8.0 * fwd), 2.5], [*(xy + 16.0 * fwd), 5.0]]), xy, yaw
    )
    assert rows.size > 0
    assert rows.min() <= far_top[1] + 1.5  # the far pole's top is visible ...
    assert rows.max() < near_top[1] + 1.0  # ... but nothing below the near pole's top


def test_ground_marking_lands_at_the_projected_pixel():
    world = build_world(CLEAR, np.random.default_rng(7))
    xy, yaw, fwd = lane_pose(world)
    centre = xy + 9.0 * fwd
    rows, cols, mask = polygon_mask(world.grid, rect_polygon(centre, fwd, 0.8, 0.8))
    world.layers.ground_rgb[rows, cols][mask] = MAGENTA
    cam = PinholeCamera(pitch_rad=0.05)
    img = GroundRenderer(world, cam).render(xy, yaw)
    r, c = np.nonzero(_magenta(img))
    # Prediction: the painted raster cells (not the ideal square) projected into the camera.
    cell_r, cell_c = np.nonzero(mask)
    east, north = world.grid.px_to_enu(cols.start + cell_c + 0.5, rows.start + cell_r + 0.5)
    pts = np.stack([east, north, np.zeros_like(east)], axis=1)
    uv = cam.project(pts, xy, yaw)[0].mean(axis=0)
    assert r.size > 5
    assert abs(c.mean() + 0.5 - uv[0]) < 0.7 and abs(r.mean() + 0.5 - uv[1]) < 0.7


def test_render_is_deterministic_and_jitter_changes_the_look(small_world):
    xy, yaw, _ = lane_pose(small_world)
    renderer = GroundRenderer(small_world, PinholeCamera())
    a = renderer.render(xy, yaw, np.random.default_rng(3))
    b = renderer.render(xy, yaw, np.random.default_rng(3))
    clean = renderer.render(xy, yaw)
    assert a.shape == (96, 320, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert np.abs(a.astype(int) - clean.astype(int)).mean() > 2.0
    # Sky on top, ground at the bottom: the top row is bluer than the bottom row.
    assert clean[0, :, 2].mean() > clean[-1, :, 2].mean()
