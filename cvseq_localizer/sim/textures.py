"""Procedural textures (value noise via OpenCV resizing) and colour palettes for the world."""

from __future__ import annotations

import cv2
import numpy as np

# Colour palettes, RGB uint8. Chosen to look like central-European towns from above and below.
GRASS_RGB = (86, 116, 58)
ASPHALT_RGB = (78, 80, 84)
SIDEWALK_RGB = (158, 154, 146)
PARKING_RGB = (98, 99, 101)
MARKING_RGB = (232, 232, 226)
TRUNK_RGB = (84, 62, 44)
ROOF_RGB = (
    (150, 70, 52),  # red clay tiles
    (112, 58, 46),  # dark clay
    (88, 88, 94),  # slate
    (170, 168, 160),  # light gravel (flat)
    (122, 122, 118),  # concrete (flat)
    (60, 62, 66),  # bitumen (flat)
)
FACADE_RGB = (
    (222, 210, 184),
    (236, 232, 222),
    (176, 86, 64),
    (214, 190, 120),
    (170, 176, 180),
    (196, 170, 150),
    (150, 170, 190),
)
CAR_RGB = (
    (230, 230, 230),
    (30, 30, 34),
    (160, 162, 166),
    (160, 30, 30),
    (40, 60, 130),
    (90, 96, 100),
)
TREE_RGB = ((58, 92, 40), (72, 104, 46), (46, 78, 40), (92, 112, 52))


def value_noise(shape: tuple[int, int], cell_px: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth noise in ``[-1, 1]`` (float32) with features about ``cell_px`` pixels wide."""
    h, w = shape
    gh, gw = max(int(h / cell_px) + 2, 2), max(int(w / cell_px) + 2, 2)
    coarse = rng.uniform(-1.0, 1.0, (gh, gw)).astype(np.float32)
    big = cv2.resize(coarse, (int(gw * cell_px), int(gh * cell_px)), interpolation=cv2.INTER_CUBIC)
    return np.clip(big[:h, :w], -1.0, 1.0)


def fractal_noise(
    shape: tuple[int, int], cell_px: float, rng: np.random.Generator, octaves: int = 3
) -> np.ndarray:
    """Sum of ``octaves`` value-noise layers (halving size and amplitude), about ``[-1, 1]``."""
    out = np.zeros(shape, np.float32)
    amp, total = 1.0, 0.0
    for k in range(octaves):
        out += amp * value_noise(shape, max(cell_px / 2**k, 1.0), rng)
        total += amp
        amp *= 0.5
    return out / total


def tinted(
    base_rgb: tuple[int, int, int], noise: np.ndarray, strength: float, grain: np.ndarray = None
) -> np.ndarray:
    """``H x W x 3`` uint8: ``base_rgb`` brightened/darkened by ``noise * strength`` (+ grain)."""
    gain = 1.0 + strength * noise
    if grain is not None:
        gain = gain + grain
    rgb = np.asarray(base_rgb, np.float32)[None, None, :] * gain[..., None]
    return np.clip(rgb, 0, 255).astype(np.uint8)


def jitter_rgb(rgb: tuple[int, int, int], rng: np.random.Generator, amount: float = 0.1):
    """A palette colour with a random per-channel gain of about ``+/- amount``."""
    c = np.asarray(rgb, np.float64) * rng.uniform(1 - amount, 1 + amount, 3)
    return tuple(int(v) for v in np.clip(c, 0, 255))
