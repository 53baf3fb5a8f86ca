"""Resample a mosaic of source tiles into a georeferenced output tile with OpenCV.

Both rasters are corner-based (pixel ``i`` spans ``[i, i + 1)``, its centre is ``i + 0.5``);
OpenCV samples at pixel centres, so the half-pixel terms below are what makes this exact.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def resample(
    mosaic: np.ndarray,
    mosaic_origin: tuple[float, float],
    origin: tuple[float, float],
    scale: tuple[float, float],
    out_px: int,
) -> np.ndarray:
    """Sample ``out_px x out_px`` pixels from ``mosaic`` (1 source pixel = 1 world pixel).

    Args:
        mosaic: ``H x W x C`` uint8 source pixels; its top-left corner is world pixel
            ``mosaic_origin``.
        origin: world pixel of the output's top-left corner.
        scale: world pixels per output pixel ``(x, y)``.
    Shrinking (scale > 1) uses ``INTER_LINEAR`` onto a grid ``k`` times finer (``k`` =
    ceil(scale), so that step no longer shrinks) followed by an exact ``k x k`` ``INTER_AREA``
    box average; enlarging uses ``INTER_LINEAR`` directly.
    """
    k = max(1, math.ceil(max(scale) - 1e-9))
    fine = _warp(mosaic, mosaic_origin, origin, (scale[0] / k, scale[1] / k), out_px * k)
    if k == 1:
        return fine
    return cv2.resize(fine, (out_px, out_px), interpolation=cv2.INTER_AREA)


def _warp(mosaic, mosaic_origin, origin, scale, size) -> np.ndarray:
    # Output pixel u has its centre at world x = ox + (u + 0.5) * sx, which is mosaic pixel
    # coordinate (in OpenCV's centre convention) ox + (u + 0.5) * sx - mx - 0.5.
    sx, sy = scale
    tx = origin[0] - mosaic_origin[0] + 0.5 * sx - 0.5
    ty = origin[1] - mosaic_origin[1] + 0.5 * sy - 0.5
    m = np.array([[sx, 0.0, tx], [0.0, sy, ty]])
    return cv2.warpAffine(
        mosaic,
        m,
        (size, size),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
