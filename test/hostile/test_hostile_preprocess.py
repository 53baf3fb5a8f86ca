"""Frames the camera cannot have sent: bounded work, typed errors with a counted reason."""

import resource

import numpy as np
import pytest

from cvseq_localizer.runtime.preprocess import (
    FrameError,
    frame_problem,
    preprocess_ground,
    resize_cover_crop,
)

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def test_thin_frame_is_cropped_before_resizing():
    """A 20000 x 2 frame: resizing it whole to cover 260 x 480 allocated ~3 GB."""
    thin = np.full((2, 20000, 3), 9, np.uint8)
    before = peak_rss_mb()
    out = resize_cover_crop(thin, 260, 480)
    assert out.shape == (260, 480, 3) and int(out.max()) == 9
    assert peak_rss_mb() - before < 100


def test_thin_frame_is_refused_by_preprocess_with_a_reason():
    with pytest.raises(FrameError) as err:
        preprocess_ground(np.zeros((2, 20000, 3), np.uint8), (260, 480), MEAN, STD)
    assert err.value.reason == 'too_small'
    with pytest.raises(FrameError) as err:
        preprocess_ground(np.zeros((40, 4000, 3), np.uint8), (260, 480), MEAN, STD)
    assert err.value.reason == 'aspect'


@pytest.mark.parametrize(
    ('shape', 'dtype', 'reason'),
    [
        ((1, 1, 3), np.uint8, 'too_small'),
        ((1, 1), np.uint8, 'format'),
        ((64, 64, 4), np.uint8, 'format'),
        ((64, 64, 3), np.float32, 'format'),
        ((60, 2000, 3), np.uint8, 'aspect'),
        ((2000, 60, 3), np.uint8, 'aspect'),
        ((1080, 1920, 3), np.uint8, ''),
        ((375, 1242, 3), np.uint8, ''),
        ((480, 640, 3), np.uint8, ''),
    ],
)
def test_frame_problem(shape, dtype, reason):
    assert frame_problem(np.zeros(shape, dtype), (260, 480)) == reason


def test_one_pixel_image_is_a_typed_error():
    with pytest.raises(FrameError, match='too small') as err:
        preprocess_ground(np.zeros((1, 1, 3), np.uint8), (32, 64), MEAN, STD)
    assert err.value.reason == 'too_small'


def test_crop_first_keeps_the_centre_of_wide_and_tall_frames():
    wide = np.zeros((100, 400, 3), np.uint8)
    wide[:, 195:205] = 255
    out = resize_cover_crop(wide, 50, 100)
    cols = np.where(out[25, :, 0] > 128)[0]
    assert out.shape == (50, 100, 3) and abs(cols.mean() - 49.5) < 2
    tall = np.zeros((400, 100, 3), np.uint8)
    tall[195:205] = 255
    out = resize_cover_crop(tall, 50, 100)
    rows = np.where(out[:, 50, 0] > 128)[0]
    assert abs(rows.mean() - 24.5) < 2
