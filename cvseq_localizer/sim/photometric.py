"""Sky, distance haze and camera photometry (lighting, white balance, vignetting, noise)."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

SKY_ZENITH_RGB = np.array([92.0, 140.0, 210.0], np.float32)
SKY_HORIZON_RGB = np.array([196.0, 212.0, 228.0], np.float32)
HAZE_M = 150.0  # distance at which 63 % of the colour is haze


def sky_and_haze(
    rgb: np.ndarray,
    dist_m: np.ndarray,
    v_centre: np.ndarray,
    cy: float,
    f: float,
    rng: np.random.Generator | None,
) -> np.ndarray:
    """Fill NaN pixels of a float ``H x W x 3`` image with sky, fade distant pixels into haze.

    Args:
        rgb: float32 colours, NaN where the ray hit nothing.
        dist_m: ``H x W`` distance of each pixel's surface, metres (inf for sky).
        v_centre: ``(H,)`` row centres; ``cy``/``f`` the horizon row and focal length (pixels).
        rng: varies the sky's tint when given.
    Returns:
        ``H x W x 3`` uint8.
    """
    tint = rng.uniform(0.85, 1.15, 3).astype(np.float32) if rng is not None else np.ones(3)
    elev = np.clip((cy - v_centre) / f, 0.0, 1.0)[:, None] ** 0.6
    sky_rows = ((1 - elev) * SKY_HORIZON_RGB + elev * SKY_ZENITH_RGB) * tint  # (H, 3)
    empty_r, empty_c = np.nonzero(np.isnan(rgb[..., 0]))
    rgb[empty_r, empty_c] = sky_rows[empty_r]
    haze = 1.0 - np.exp(np.minimum(dist_m, 1e4) * np.float32(-1.0 / HAZE_M))
    haze[~np.isfinite(dist_m)] = 0.0
    haze = haze[..., None]
    rgb = rgb + (SKY_HORIZON_RGB * tint).astype(np.float32) * haze - rgb * haze
    return np.clip(rgb, 0, 255).astype(np.uint8)


@lru_cache(maxsize=8)
def _radius2(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (w / 2)) ** 2


def apply_jitter(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random exposure, contrast, gamma, white balance, vignetting and sensor noise (uint8).

    The tone curve (gamma, contrast, per-channel gain) is one OpenCV lookup table per channel.
    """
    x = np.arange(256, dtype=np.float32) / 255.0
    curve = (x ** rng.uniform(0.8, 1.2) - 0.5) * rng.uniform(0.8, 1.2) + 0.5
    gains = rng.uniform(0.75, 1.25) * rng.normal(1.0, 0.05, 3)
    lut = np.clip(np.stack([curve * g for g in gains], axis=1) * 255.0, 0, 255)
    img = cv2.LUT(rgb, lut.astype(np.uint8).reshape(256, 1, 3)).astype(np.float32)
    vignette = 1.0 - np.float32(rng.uniform(0.0, 0.25)) * _radius2(*rgb.shape[:2])
    img *= vignette[..., None]
    img += rng.standard_normal(img.shape, dtype=np.float32) * np.float32(rng.uniform(1.0, 4.0))
    return np.clip(img, 0, 255).astype(np.uint8)
