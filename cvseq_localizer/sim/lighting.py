"""Sunlight on the world rasters: cast shadows for the aerial image, facade shading for ground."""

from __future__ import annotations

import cv2
import numpy as np

from cvseq_localizer.sim.layers import Layers


def cast_shadows(height_m: np.ndarray, res_m: float, sun_enu: np.ndarray) -> np.ndarray:
    """Soft shadow mask (float32 in ``[0, 1]``) of a height map lit by the unit vector ``sun_enu``.

    A cell is in shadow if some cell towards the sun rises above the sun ray through it. Hand
    written because neither numpy nor OpenCV has a height-map shadow caster: the height map is
    shifted towards the sun in 2-pixel steps and compared with the rising ray, all in numpy.
    """
    horiz = float(np.hypot(sun_enu[0], sun_enu[1]))
    if sun_enu[2] <= 0 or horiz < 1e-6:
        return np.zeros_like(height_m, np.float32)
    rise_per_m = sun_enu[2] / horiz
    step_m = 2.0 * res_m
    reach_m = float(height_m.max()) / rise_per_m
    h, w = height_m.shape
    blocker = np.full_like(height_m, -np.inf)
    for d in np.arange(step_m, reach_m + step_m, step_m):
        dc = int(round(d * sun_enu[0] / horiz / res_m))  # columns grow east
        dr = int(round(-d * sun_enu[1] / horiz / res_m))  # rows grow south
        if abs(dc) >= w or abs(dr) >= h:
            break
        src = height_m[max(dr, 0) : h + min(dr, 0), max(dc, 0) : w + min(dc, 0)]
        dst = blocker[max(-dr, 0) : h + min(-dr, 0), max(-dc, 0) : w + min(-dc, 0)]
        np.maximum(dst, src - np.float32(d * rise_per_m), out=dst)
    shadow = (blocker > height_m + 0.05).astype(np.float32)
    return cv2.GaussianBlur(shadow, (5, 5), 1.0)


def shade_sides(layers: Layers, sun_enu: np.ndarray) -> np.ndarray:
    """``side_rgb`` with Lambertian shading from the height map's outward wall normals.

    Walls facing the sun are lit (up to 1.1x), walls facing away keep 0.6x (sky light).
    """
    h = cv2.GaussianBlur(layers.height_m, (5, 5), 1.0)
    gx = cv2.Sobel(h, cv2.CV_32F, 1, 0, ksize=3)  # d/d column = d/d east
    gy = cv2.Sobel(h, cv2.CV_32F, 0, 1, ksize=3)  # d/d row = -d/d north
    normal_e, normal_n = -gx, gy  # outward normal points downhill
    norm = np.maximum(np.hypot(normal_e, normal_n), 1e-6)
    horiz = max(float(np.hypot(sun_enu[0], sun_enu[1])), 1e-6)
    cos_sun = (normal_e * sun_enu[0] + normal_n * sun_enu[1]) / (norm * horiz)
    gain = np.where(norm > 1e-3, 0.6 + 0.5 * np.clip(cos_sun, 0, 1), 0.85).astype(np.float32)
    return np.clip(layers.side_rgb * gain[..., None], 0, 255).astype(np.uint8)
