import math

import numpy as np
import pytest

from cvseq_localizer.geo.camera import CameraModel, CameraMount

WIDE = CameraModel.from_hfov(640, 480, 120.0, CameraMount(z_m=1.4, pitch_rad=math.radians(5)))
DISTORTED = CameraModel(
    640,
    480,
    300.0,
    302.0,
    318.0,
    242.0,
    'plumb_bob',
    (-0.28, 0.07, 0.001, -0.0005, 0.0),
    CameraMount(x_m=1.2, y_m=0.3, z_m=1.5, roll_rad=0.02, pitch_rad=0.08, yaw_rad=-0.05),
)


def test_level_camera_hand_computed_pixel():
    cam = CameraModel.from_hfov(320, 96, 90.0, CameraMount(z_m=1.65, pitch_rad=0.0))
    # f = 160; a ground point 10 m ahead, 2 m left: u = cx - f * 2 / 10, v = cy + f * 1.65 / 10
    uv, ok = cam.ground_to_pixel(np.array([[10.0, 2.0]]))
    assert ok[0]
    assert uv[0] == pytest.approx([159.5 - 32.0, 47.5 + 26.4], abs=1e-9)


def test_pitch_moves_points_up_in_the_image():
    level = CameraModel.from_hfov(320, 96, 90.0, CameraMount(pitch_rad=0.0))
    down = CameraModel.from_hfov(320, 96, 90.0, CameraMount(pitch_rad=0.1))
    uv_level, _ = level.ground_to_pixel(np.array([[20.0, 0.0]]))
    uv_down, _ = down.ground_to_pixel(np.array([[20.0, 0.0]]))
    assert uv_down[0, 1] < uv_level[0, 1]


@pytest.mark.parametrize('cam', [WIDE, DISTORTED], ids=['wide', 'distorted'])
def test_pixel_ground_round_trip(cam):
    u, v = np.meshgrid(
        np.linspace(20, cam.width_px - 20, 9),
        np.linspace(cam.height_px * 0.6, cam.height_px - 20, 5),
    )
    uv = np.stack([u.ravel(), v.ravel()], axis=1)
    xy, hits = cam.pixel_to_ground(uv)
    assert hits.all()
    uv2, inside = cam.ground_to_pixel(xy)
    assert inside.all()
    assert np.max(np.abs(uv2 - uv)) < 1e-4


def test_points_behind_or_outside_are_flagged():
    uv, ok = WIDE.ground_to_pixel(np.array([[-5.0, 0.0], [5.0, 500.0], [8.0, 0.0]]))
    assert ok.tolist() == [False, False, True]
    assert np.isnan(uv[:2]).all() and np.isfinite(uv[2]).all()


def test_rays_above_horizon_do_not_hit_ground():
    _, hits = WIDE.pixel_to_ground(np.array([[320.0, 5.0], [320.0, 470.0]]))
    assert hits.tolist() == [False, True]


def test_dict_round_trip_and_scaling():
    again = CameraModel.from_dict(DISTORTED.to_dict())
    assert again == DISTORTED
    half = WIDE.scaled(320, 240)
    xy = np.array([[12.0, -1.0]])
    uv_full, _ = WIDE.ground_to_pixel(xy)
    uv_half, _ = half.ground_to_pixel(xy)
    assert (uv_half[0] + 0.5) == pytest.approx((uv_full[0] + 0.5) / 2.0, abs=1e-9)


@pytest.mark.parametrize(
    'cam, message',
    [
        (CameraModel(fx=0.0), 'degenerate'),
        (CameraModel(fx=float('nan')), 'non-finite'),
        (CameraModel(distortion_model='fisheye'), 'unsupported'),
        (CameraModel(mount=CameraMount(pitch_rad=-1.2)), 'cannot see the ground'),
        (CameraModel(mount=CameraMount(z_m=0.0)), 'above the ground'),
    ],
)
def test_bad_cameras_are_refused(cam, message):
    with pytest.raises(ValueError, match=message):
        cam.validate()


def test_differences_names_what_differs():
    assert WIDE.differences(WIDE) == []
    diffs = CameraModel().differences(WIDE)
    assert any('FOV' in d for d in diffs) and any('height' in d for d in diffs)
