import math

import cv2
import numpy as np
import pytest

from cvseq_localizer.geo.bev import BevSpec, bev_offsets_enu, project_to_bev
from cvseq_localizer.geo.camera import CameraModel, CameraMount

CAM = CameraModel.from_hfov(640, 480, 100.0, CameraMount(z_m=1.5, pitch_rad=math.radians(8)))


@pytest.mark.parametrize('yaw', [0.0, 0.3, -2.5])
def test_painted_ground_point_lands_at_its_enu_offset(yaw):
    x, y = 12.0, 2.5  # body frame, metres
    uv, ok = CAM.ground_to_pixel(np.array([[x, y]]))
    assert ok[0]
    image = np.zeros((480, 640), np.uint8)
    cv2.circle(image, (int(round(uv[0, 0])), int(round(uv[0, 1]))), 3, 255, -1)
    spec = BevSpec(size_px=128, res_m=0.25)
    bev, mask = project_to_bev(image, CAM, spec, yaw)
    w = bev.astype(np.float64) / bev.sum()
    east, north = np.tensordot(w, bev_offsets_enu(spec), axes=([0, 1], [0, 1]))
    r, c = np.unravel_index(np.argmax(bev), bev.shape)
    want = (x * math.cos(yaw) - y * math.sin(yaw), x * math.sin(yaw) + y * math.cos(yaw))
    assert math.hypot(east - want[0], north - want[1]) < 2 * spec.res_m
    assert mask[r, c]


def test_mask_covers_only_the_visible_wedge():
    spec = BevSpec(size_px=64, res_m=1.0, min_range_m=3.0, max_range_m=30.0)
    _, mask = project_to_bev(np.zeros((480, 640, 3), np.uint8), CAM, spec, math.pi / 2)
    offsets = bev_offsets_enu(spec)
    assert not mask[offsets[..., 1] < 0].any()  # heading north: nothing south is seen
    assert mask[offsets[..., 1] > 5].any()
    assert not mask[np.hypot(offsets[..., 0], offsets[..., 1]) > 30.5].any()


def test_wrong_image_size_is_refused():
    with pytest.raises(ValueError, match='camera model is 640x480'):
        project_to_bev(np.zeros((96, 320, 3), np.uint8), CAM, BevSpec(), 0.0)
