"""CameraMount.from_matrix: the inverse of r_body_optical / t_body_m."""

import numpy as np
import pytest

from cvseq_localizer.geo.camera import R_BODY_OPTICAL, CameraMount


def test_round_trips_random_mounts():
    rng = np.random.default_rng(0)
    for _ in range(50):
        angles = rng.uniform([-0.5, -1.4, -3.1], [0.5, 1.4, 3.1])
        mount = CameraMount(*rng.uniform(-2, 2, 3), *angles)
        back = CameraMount.from_matrix(mount.r_body_optical(), mount.t_body_m)
        np.testing.assert_allclose(
            [back.roll_rad, back.pitch_rad, back.yaw_rad], angles, atol=1e-9
        )
        np.testing.assert_allclose(back.t_body_m, mount.t_body_m)


def test_looking_down_is_positive_pitch():
    c, s = np.cos(0.2), np.sin(0.2)
    tilt = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])  # forward axis -> (c, 0, -s): down
    mount = CameraMount.from_matrix(tilt @ R_BODY_OPTICAL, [0.0, 0.0, 1.5])
    assert mount.pitch_rad == pytest.approx(0.2) and mount.yaw_rad == pytest.approx(0.0)


def test_rejects_a_non_rotation():
    with pytest.raises(ValueError, match='rotation'):
        CameraMount.from_matrix(np.diag([1.0, 1.0, -1.0]), [0, 0, 1])
    with pytest.raises(ValueError, match='rotation'):
        CameraMount.from_matrix(2 * np.eye(3), [0, 0, 1])
