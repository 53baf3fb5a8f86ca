"""``Layers``: the world's rasters (appearance, heights, classes) and the painting primitives.

All layers share one ``EnuGrid``. Painting is done with OpenCV (anti-aliased polygons and lines)
on full layers or on a small region of interest around one object.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from cvseq_localizer.geo.enu_grid import CV_SHIFT, EnuGrid

# Class map values.
GRASS, ROAD, SIDEWALK, MARKING, BUILDING, TREE, TRUNK, PARKING, CAR, POLE = range(10)
CLASS_NAMES = (
    'grass',
    'road',
    'sidewalk',
    'marking',
    'building',
    'tree',
    'trunk',
    'parking',
    'car',
    'pole',
)


@dataclass
class Layers:
    """World rasters, each ``grid.height_px x grid.width_px``.

    Attributes:
        ground_rgb: uint8 RGB of the ground surface (z = 0) as the camera sees it.
        top_rgb: uint8 RGB seen from straight above (roofs, tree crowns, car tops), no shadows.
        side_rgb: uint8 RGB of vertical surfaces (facades, crowns, car bodies) of each cell.
        height_m: float32 top of the object in the cell above ground, metres (0 = bare ground).
        base_m: float32 bottom of the object (tree crowns float; 0 for solids), metres.
        class_map: uint8 class of the topmost surface (``CLASS_NAMES``).
    """

    grid: EnuGrid
    ground_rgb: np.ndarray
    top_rgb: np.ndarray
    side_rgb: np.ndarray
    height_m: np.ndarray
    base_m: np.ndarray
    class_map: np.ndarray

    @classmethod
    def empty(cls, grid: EnuGrid) -> Layers:
        h, w = grid.shape
        return cls(
            grid,
            np.zeros((h, w, 3), np.uint8),
            np.zeros((h, w, 3), np.uint8),
            np.zeros((h, w, 3), np.uint8),
            np.zeros((h, w), np.float32),
            np.zeros((h, w), np.float32),
            np.zeros((h, w), np.uint8),
        )


def polygon_mask(grid: EnuGrid, polygon_enu_m: np.ndarray, roi: tuple[slice, slice] | None = None):
    """Rasterise a polygon: ``(row_slice, col_slice, bool mask)`` over its bounding box.

    With ``roi=(rows, cols)`` the mask covers that region instead. Returns ``None`` if the
    bounding box lies outside the grid.
    """
    pts = grid.cv_points(polygon_enu_m)
    if roi is not None:
        r0, r1, c0, c1 = roi[0].start, roi[0].stop, roi[1].start, roi[1].stop
    else:
        lo = np.floor(pts.min(axis=0) / (1 << CV_SHIFT)).astype(int) - 1
        hi = np.ceil(pts.max(axis=0) / (1 << CV_SHIFT)).astype(int) + 2
        c0, r0 = max(lo[0], 0), max(lo[1], 0)
        c1, r1 = min(hi[0], grid.width_px), min(hi[1], grid.height_px)
        if c1 <= c0 or r1 <= r0:
            return None
    mask = np.zeros((r1 - r0, c1 - c0), np.uint8)
    offset = np.array([c0, r0]) << CV_SHIFT
    cv2.fillPoly(mask, [pts - offset], 1, cv2.LINE_8, CV_SHIFT)
    return slice(r0, r1), slice(c0, c1), mask.astype(bool)


def polyline_mask(grid: EnuGrid, points_enu_m: np.ndarray, width_m: float) -> np.ndarray:
    """Full-grid bool mask of a thick polyline (round joins), ``width_m`` wide."""
    mask = np.zeros(grid.shape, np.uint8)
    draw_polyline(mask, grid, points_enu_m, width_m, 1)
    return mask.astype(bool)


def draw_polyline(img: np.ndarray, grid: EnuGrid, points_enu_m, width_m: float, value) -> None:
    """Draw a thick polyline (at least one pixel wide) into ``img`` in place."""
    thickness = max(int(round(grid.px_len(width_m))), 1)
    pts = grid.cv_points(points_enu_m)
    cv2.polylines(img, [pts], False, value, thickness, cv2.LINE_8, CV_SHIFT)


def draw_disc(img: np.ndarray, grid: EnuGrid, center_enu_m, radius_m: float, value) -> None:
    """Draw a filled disc into ``img`` in place."""
    c = grid.cv_points(np.asarray(center_enu_m).reshape(1, 2))[0]
    r = int(round(grid.px_len(radius_m) * (1 << CV_SHIFT)))
    cv2.circle(img, (int(c[0]), int(c[1])), max(r, 1 << CV_SHIFT), value, -1, cv2.LINE_8, CV_SHIFT)


def paint_surface(layers: Layers, mask: np.ndarray, texture_rgb: np.ndarray, cls: int) -> None:
    """Paint ground cells under ``mask`` (full grid) with a full-size texture and class."""
    layers.ground_rgb[mask] = texture_rgb[mask]
    layers.class_map[mask] = cls
