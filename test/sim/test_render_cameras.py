"""The renderer works with any CameraModel: painted points land where ``project_body`` predicts.

Cameras: the default one, the 'wide' preset moved forward and to the right, the distorted 'tele'
preset, and a rolled, yawed plumb_bob camera with ``fx != fy`` and an off-centre principal point.
Predictions use the core model only (``CameraModel.project_body``, OpenCV pixel centres), never
the renderer's own geometry.
"""

import math
from dataclasses import replace

import numpy as np
import pytest
from sim_testkit import SMALL, lane_pose

from cvseq_localizer.geo.camera import CameraModel, CameraMount, rot_z
from cvseq_localizer.sim.camera import CAMERAS, PinholeCamera, camera_info_dict, mount_transform
from cvseq_localizer.sim.ground import GroundRenderer
from cvseq_localizer.sim.layers import polygon_mask
from cvseq_localizer.sim.polyline import rect_polygon
from cvseq_localizer.sim.world import build_world

MAGENTA = (255, 0, 255)
CLEAR = replace(SMALL, parked_car_prob=0.0)  # nothing may hide the markers next to the lane

WIDE_OFFSET = CAMERAS['wide'].with_mount(replace(CAMERAS['wide'].mount, x_m=1.5, y_m=-0.4))
ROLLED = CameraModel(
    width_px=400,
    height_px=200,
    fx=230.0,
    fy=210.0,
    cx=211.3,
    cy=88.6,
    distortion_model='plumb_bob',
    distortion=(-0.22, 0.06, 0.001, -0.0015, -0.005),
    mount=CameraMount(x_m=0.6, y_m=0.3, z_m=1.8, roll_rad=math.radians(4.0),
                      pitch_rad=math.radians(3.0), yaw_rad=math.radians(8.0)),
)  # fmt: skip
CAMS = {
    'default': CAMERAS['default'],
    'wide_offset': WIDE_OFFSET,
    'tele': CAMERAS['tele'],
    'rolled': ROLLED,
}


def _magenta(img: np.ndarray) -> np.ndarray:
    r, g, b = (img[..., i].astype(int) for i in range(3))
    return (r > 60) & (b > 60) & (r > 2 * g + 20) & (b > 2 * g + 20)


def _to_body(points_enu: np.ndarray, xy: np.ndarray, yaw: float) -> np.ndarray:
    """``(N, 3)`` ENU points -> ``base_link`` of a vehicle at ``xy``/``yaw``."""
    p = np.asarray(points_enu, np.float64).copy()
    p[:, :2] -= xy
    return p @ rot_z(yaw)  # row vectors: R^T p


def _body_to_enu_xy(body_xy: np.ndarray, xy: np.ndarray, yaw: float) -> np.ndarray:
    return xy + rot_z(yaw)[:2, :2] @ np.asarray(body_xy, np.float64)


@pytest.fixture(scope='module')
def pole_scene():
    world = build_world(CLEAR, np.random.default_rng(7))
    xy, yaw, _ = lane_pose(world)
    pole_xy = _body_to_enu_xy([13.0, 0.5], xy, yaw)
    world.add_pole(pole_xy, radius_m=0.3, height_m=3.0, rgb=MAGENTA)
    grid = world.grid
    r, c = np.nonzero(world.layers.height_m >= 2.99)
    east, north = grid.px_to_enu(c + 0.5, r + 0.5)
    near = np.hypot(east - pole_xy[0], north - pole_xy[1]) < 1.0
    half = grid.res_m / 2
    corners = [(east[near] + dx, north[near] + dy) for dx in (-half, half) for dy in (-half, half)]
    top_cells = np.concatenate(
        [np.stack([e, n, np.full_like(e, 3.0)], axis=1) for e, n in corners]
    )
    return world, xy, yaw, pole_xy, top_cells


@pytest.mark.parametrize('name', list(CAMS))
def test_pole_lands_at_the_pixel_the_camera_model_predicts(pole_scene, name):
    world, xy, yaw, pole_xy, top_cells = pole_scene
    cam = CAMS[name]
    img = GroundRenderer(world, cam).render(xy, yaw)
    assert img.shape == (cam.height_px, cam.width_px, 3)
    rows, cols = np.nonzero(_magenta(img))
    assert rows.size > 20, 'the pole is not visible'
    # At 1.2 m high, the magenta pixels of that row span the projected corners of the pole's
    # raster cells (the painted cells, not the ideal disk): their centres agree.
    mid = top_cells.copy()
    mid[:, 2] = 1.2
    uv, ok = cam.project_body(_to_body(mid, xy, yaw))
    assert ok.all()
    band = np.abs(rows - uv[:, 1].mean()) < 2.5
    assert band.sum() > 2
    assert abs(cols[band].mean() - (uv[:, 0].min() + uv[:, 0].max()) / 2) < 1.0
    # The pole's top (3 m): the highest magenta row is the highest projected corner of its
    # raster cells (the painted cells, not the ideal disk).
    uv_top, ok_top = cam.project_body(_to_body(top_cells, xy, yaw))
    assert ok_top.all()
    assert abs(rows.min() - uv_top[:, 1].min()) < 1.0


@pytest.mark.parametrize('name', list(CAMS))
def test_ground_marking_lands_at_the_pixel_the_camera_model_predicts(name):
    world = build_world(CLEAR, np.random.default_rng(7))
    xy, yaw, fwd = lane_pose(world)
    centre = _body_to_enu_xy([10.0, 0.8], xy, yaw)
    rows, cols, mask = polygon_mask(world.grid, rect_polygon(centre, fwd, 0.8, 0.8))
    world.layers.ground_rgb[rows, cols][mask] = MAGENTA
    cam = CAMS[name]
    img = GroundRenderer(world, cam).render(xy, yaw)
    r, c = np.nonzero(_magenta(img))
    cell_r, cell_c = np.nonzero(mask)
    east, north = world.grid.px_to_enu(cols.start + cell_c + 0.5, rows.start + cell_r + 0.5)
    pts = np.stack([east, north, np.zeros_like(east)], axis=1)
    uv, ok = cam.project_body(_to_body(pts, xy, yaw))
    assert ok.all() and r.size > 5
    mean = uv.mean(axis=0)
    assert abs(c.mean() - mean[0]) < 1.0 and abs(r.mean() - mean[1]) < 1.0


def test_default_preset_is_the_historical_camera(small_world):
    xy, yaw, _ = lane_pose(small_world)
    a = GroundRenderer(small_world, PinholeCamera()).render(xy, yaw)
    b = GroundRenderer(small_world, CAMERAS['default']).render(xy, yaw)
    np.testing.assert_array_equal(a, b)
    assert CAMERAS['default'].to_dict() == PinholeCamera().to_model().to_dict()


def test_mount_offset_moves_the_view_like_moving_the_vehicle(small_world):
    xy, yaw, _ = lane_pose(small_world)
    base = CAMERAS['wide']
    ahead = base.with_mount(replace(base.mount, x_m=2.0, y_m=0.5))
    moved = _body_to_enu_xy([2.0, 0.5], xy, yaw)
    a = GroundRenderer(small_world, ahead).render(xy, yaw)
    b = GroundRenderer(small_world, base).render(moved, yaw)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 2  # float32 rounding only


def test_camera_that_cannot_see_the_ground_is_refused(small_world):
    up = CAMERAS['default'].with_mount(CameraMount(pitch_rad=-0.6))
    with pytest.raises(ValueError, match='cannot see the ground'):
        GroundRenderer(small_world, up)
    with pytest.raises(TypeError):
        GroundRenderer(small_world, {'fx': 100})


def test_camera_info_and_mount_transform_describe_the_camera():
    cam = CAMERAS['tele']
    info = camera_info_dict(cam)
    assert (info['width'], info['height']) == (512, 256)
    np.testing.assert_allclose(np.reshape(info['k'], (3, 3)), cam.K)
    np.testing.assert_allclose(np.reshape(info['p'], (3, 4))[:, :3], cam.K)
    assert info['d'] == list(cam.distortion)
    t, q = mount_transform(cam)
    np.testing.assert_allclose(t, [0.8, 0.0, 2.0])
    assert np.linalg.norm(q) == pytest.approx(1.0)
    # Rotating the optical z axis by the quaternion gives the optical axis in base_link:
    # forward and pitched 6 deg down.
    v, w = np.array([0.0, 0.0, 1.0]), q[3]
    axis = v + 2 * w * np.cross(q[:3], v) + 2 * np.cross(q[:3], np.cross(q[:3], v))
    p = math.radians(6.0)
    np.testing.assert_allclose(axis, [math.cos(p), 0.0, -math.sin(p)], atol=1e-12)
