"""The dataset-independent converter pieces: quaternions, frame selection, sigma fixes."""

import math

import numpy as np
import pytest

from cvseq_localizer.geo.camera import rot_x, rot_y, rot_z
from cvseq_localizer.tools.convert_bag import select_frames, sigma_fix
from cvseq_localizer.tools.convert_msgs import quaternion_xyzw
from cvseq_localizer.types import COVARIANCE_TYPE_DIAGONAL_KNOWN, COVARIANCE_TYPE_UNKNOWN


def matrix_of(q):
    x, y, z, w = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])  # fmt: skip


def test_quaternion_reproduces_rotations_including_half_turns():
    rng = np.random.default_rng(1)
    mats = [rot_z(a) @ rot_y(b) @ rot_x(c) for a, b, c in rng.uniform(-3.1, 3.1, (40, 3))]
    axis = np.array([1.0, -1.0, 0.0]) / math.sqrt(2)
    mats.append(2 * np.outer(axis, axis) - np.eye(3))  # 180 deg about (1, -1, 0)
    mats.append(np.diag([-1.0, -1.0, 1.0]))
    for m in mats:
        q = quaternion_xyzw(m)
        assert np.linalg.norm(q) == pytest.approx(1.0) and q[3] >= 0
        np.testing.assert_allclose(matrix_of(q), m, atol=1e-9)


def test_select_frames_range_and_stride():
    stamps = np.arange(10, dtype=np.int64) * 100_000_000  # 10 Hz
    assert select_frames(stamps, None, None, 1).tolist() == list(range(10))
    assert select_frames(stamps, 0.25, 0.75, 2).tolist() == [3, 5, 7]
    with pytest.raises(ValueError, match='no camera frame'):
        select_frames(stamps, 5.0, None, 1)
    with pytest.raises(ValueError, match='stride'):
        select_frames(stamps, None, None, 0)


def test_sigma_fix_covariance_is_east_north_up():
    fix = sigma_fix(5, 51.0, -1.0, 100.0, 2.0, 1.5, 3.0)
    np.testing.assert_allclose(np.diag(fix.cov_enu_m2), [4.0, 2.25, 9.0])
    assert fix.cov_type == COVARIANCE_TYPE_DIAGONAL_KNOWN and fix.is_usable()
    assert sigma_fix(5, 51.0, -1.0, 100.0, 0.0, 1.5, 3.0).cov_type == COVARIANCE_TYPE_UNKNOWN
    assert not sigma_fix(5, math.nan, -1.0, 100.0, 1.0, 1.0, 1.0).is_usable()
