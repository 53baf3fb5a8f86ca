import math

import cv2
import numpy as np
import pytest

from cvseq_localizer.geo.bev import project_to_bev
from cvseq_localizer.geo.camera import CameraModel, CameraMount
from cvseq_localizer.matching import bevmatch as bm

CAM = CameraModel.from_hfov(320, 96, 90.0, CameraMount(z_m=1.65, pitch_rad=0.03))


def test_score_map_equals_masked_ccorr_normed_on_a_unit_energy_tile():
    """With I^2 = 1 on the tile the DFT score is OpenCV's masked TM_CCORR_NORMED."""
    rng = np.random.default_rng(0)
    tile = np.where(rng.random((64, 64)) > 0.5, 1.0, -1.0).astype(np.float32)
    spec = bm.tile_spectrum(tile, pad_px=20)
    template = rng.normal(size=(41, 41)).astype(np.float32)
    valid = np.zeros((41, 41), bool)
    valid[3:18, 10:35] = True
    template[~valid] = 0
    ours = bm.score_map(spec, template, valid)
    # Reference: OpenCV on the padded tile with the cropped template and its mask.
    t, m = template[3:18, 10:35], valid[3:18, 10:35].astype(np.float32)
    ref = cv2.matchTemplate(spec.padded, t, cv2.TM_CCORR_NORMED, mask=m)[3 : 3 + 64, 10 : 10 + 64]
    inside = slice(20, 44)  # positions where the whole template lies on the tile
    np.testing.assert_allclose(ours[inside, inside], ref[inside, inside], atol=1e-4)
    assert ours.shape == (64, 64)


def test_score_map_peaks_where_the_template_was_cut_from():
    rng = np.random.default_rng(1)
    smooth = cv2.GaussianBlur(rng.random((96, 96)).astype(np.float32), (0, 0), 1.5)
    tile = bm.local_normalize(smooth, None, 3.0)
    spec = bm.tile_spectrum(tile, pad_px=15)
    r, c = 40, 57  # the vehicle's pixel
    template = np.zeros((31, 31), np.float32)
    valid = np.zeros((31, 31), bool)
    valid[0:12, 8:24] = True  # ahead of the vehicle (north), off-centre
    patch = np.pad(tile, 15)[r : r + 31, c : c + 31]
    template[valid] = patch[valid]
    score = bm.score_map(spec, template, valid)
    assert np.unravel_index(np.argmax(score), score.shape) == (r, c)
    # n replaces sum(I^2 M): about 1 for a locally normalised tile, not exactly.
    assert 0.6 < score[r, c] < 1.2


@pytest.mark.parametrize('yaw_deg', [30.0, -115.0])
def test_rotated_body_bev_matches_direct_projection(yaw_deg):
    rng = np.random.default_rng(2)
    image = cv2.GaussianBlur(rng.random((96, 320)).astype(np.float32), (0, 0), 3.0)
    spec = bm.body_bev_spec(0.5, 4.0, 30.0)
    body = bm.BodyBev(CAM, spec)
    bev0 = body.project(image)
    ours, valid = body.rotated(bev0, body.valid.astype(np.float32), math.radians(yaw_deg))
    direct, mask = project_to_bev(image, CAM, spec, math.radians(yaw_deg))
    both = cv2.erode((valid & mask).astype(np.uint8), np.ones((3, 3))).astype(bool)
    assert both.sum() > 0.8 * mask.sum() * 0.7
    assert np.corrcoef(ours[both], direct[both])[0, 1] > 0.95


def test_local_normalize_is_zero_outside_the_mask_and_unit_scale():
    rng = np.random.default_rng(3)
    g = (0.2 + 0.1 * rng.random((50, 50))).astype(np.float32)
    mask = np.zeros((50, 50), bool)
    mask[10:40, 5:45] = True
    out = bm.local_normalize(g, mask, 3.0)
    assert np.all(out[~mask] == 0) and np.all(np.isfinite(out))
    assert 0.6 < out[mask].std() < 1.2
    flat = bm.local_normalize(np.full((20, 20), 0.5, np.float32), None, 3.0)
    assert np.abs(flat).max() < 1e-3
