"""The pinhole camera projects known 3D points where the pinhole model says."""

import math

import numpy as np
import pytest

from cvseq_localizer.sim.camera import PinholeCamera


def test_points_on_the_axis_and_offsets_level_camera():
    cam = PinholeCamera(width_px=320, height_px=96, hfov_deg=90.0, height_m=1.65, pitch_rad=0.0)
    assert cam.fx == pytest.approx(160.0)  # (W / 2) / tan(45 deg)
    # Vehicle at (5, -3) looking east (yaw 0): forward = +east, left = +north, up = +z.
    pts = np.array(
        [
            [15.0, -3.0, 1.65],  # 10 m straight ahead at camera height
            [15.0, -1.0, 1.65],  # 2 m to the left
            [15.0, -3.0, 0.65],  # 1 m below the optical axis
            [25.0, -6.0, 3.65],  # 20 m ahead, 3 m right, 2 m up
        ]
    )
    uv, depth = cam.project(pts, (5.0, -3.0), 0.0)
    np.testing.assert_allclose(depth, [10, 10, 10, 20])
    np.testing.assert_allclose(uv[0], [160, 48])
    np.testing.assert_allclose(uv[1], [160 - 160 * 2 / 10, 48])
    np.testing.assert_allclose(uv[2], [160, 48 + 160 * 1 / 10])
    np.testing.assert_allclose(uv[3], [160 + 160 * 3 / 20, 48 - 160 * 2 / 20])


def test_yaw_follows_rep103_and_points_behind_are_nan():
    cam = PinholeCamera(pitch_rad=0.0)
    # yaw = +90 deg: the vehicle faces north.
    uv, depth = cam.project(
        np.array([[0.0, 8.0, 1.65], [0.0, -8.0, 1.65]]), (0.0, 0.0), math.pi / 2
    )
    np.testing.assert_allclose(uv[0], [cam.cx, cam.cy], atol=1e-9)
    assert depth[1] < 0 and np.all(np.isnan(uv[1]))


@pytest.mark.parametrize('pitch_deg', [-4.0, 3.0, 8.0])
def test_pitch_moves_the_horizon_and_keeps_the_axis_centred(pitch_deg):
    p = math.radians(pitch_deg)
    cam = PinholeCamera(pitch_rad=p)
    d = 12.0
    on_axis = np.array([[d * math.cos(p), 0.0, cam.height_m - d * math.sin(p)]])
    far_level = np.array([[1e6, 0.0, cam.height_m]])  # a point on the horizon
    uv, _ = cam.project(np.vstack([on_axis, far_level]), (0.0, 0.0), 0.0)
    np.testing.assert_allclose(uv[0], [cam.cx, cam.cy], atol=1e-9)
    np.testing.assert_allclose(uv[1, 1], cam.cy - cam.fy * math.tan(p), atol=1e-3)


def test_pinhole_and_core_camera_model_agree():
    import numpy as np

    from cvseq_localizer.sim.camera import PinholeCamera

    cam = PinholeCamera(width_px=200, height_px=80, hfov_deg=70.0, height_m=1.4, pitch_rad=0.07)
    model = cam.to_model()
    ground = np.array([[7.0, 1.0, 0.0], [15.0, -3.0, 0.0], [30.0, 0.5, 0.0]])
    uv_sim, _ = cam.project(ground, (0.0, 0.0), 0.0)  # yaw 0: body x = east, y = north
    uv_core, ok = model.ground_to_pixel(ground[:, :2])
    assert ok.all()
    assert np.max(np.abs((uv_core + 0.5) - uv_sim)) < 1e-9  # corner- vs centre-based pixels
