import numpy as np
import pytest

from cvseq_localizer.data.sample import grid_labels, latlon_to_tile_px
from cvseq_localizer.geo import GeoImage


def test_grid_labels_hand_computed():
    # 256 px tile, 32 cells of 8 px: (u, v) = (20, 9) is row 1 (9/8), col 2 (20/8).
    cells, offsets = grid_labels(np.array([[20.0, 9.0], [0.0, 0.0], [255.99, 255.99]]), 256, 32)
    assert cells.tolist() == [1 * 32 + 2, 0, 32 * 32 - 1]
    np.testing.assert_allclose(offsets[0], [1 / 8, 4 / 8])
    assert np.all(offsets < 1.0) and np.all(offsets >= 0.0)


def test_grid_labels_reject_outside():
    with pytest.raises(ValueError, match='outside'):
        grid_labels(np.array([[256.0, 3.0]]), 256, 32)


def test_latlon_to_tile_px_centre():
    geo = GeoImage.centered(np.zeros((256, 256, 3), np.uint8), 49.0, 8.4, 19, (0.5, 0.5))
    uv = latlon_to_tile_px(geo, np.array([49.0]), np.array([8.4]))
    np.testing.assert_allclose(uv, [[128.0, 128.0]], atol=1e-6)
