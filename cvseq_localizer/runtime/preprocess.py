"""Image preprocessing shared by every engine: raw uint8 RGB in, normalised float32 CHW out.

The sizes and normalisation come from the checkpoint's model config, so callers never repeat them.
"""

from __future__ import annotations

import cv2
import numpy as np


def _check_rgb(image: np.ndarray, what: str) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f'{what} must be HxWx3 uint8 RGB, got {image.shape} {image.dtype}')
    if min(image.shape[:2]) < 2:
        raise ValueError(f'{what} of shape {image.shape} is too small')


def resize_cover_crop(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize keeping the aspect ratio so the image covers ``height x width``, then centre-crop.

    This is the paper's "resize 1920x1080 to 270x480, crop 260x480" in general form.
    """
    h, w = image.shape[:2]
    scale = max(height / h, width / w)
    nh, nw = max(height, round(h * scale)), max(width, round(w * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (nw, nh), interpolation=interp)
    top, left = (nh - height) // 2, (nw - width) // 2
    return resized[top : top + height, left : left + width]


def normalise(image: np.ndarray, mean: tuple, std: tuple) -> np.ndarray:
    """``H x W x 3`` uint8 -> ``3 x H x W`` float32 ``(rgb / 255 - mean) / std``."""
    x = image.astype(np.float32) / 255.0
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def preprocess_ground(image: np.ndarray, size_hw: tuple[int, int], mean, std) -> np.ndarray:
    """Camera frame -> ``1 x 3 x H x W`` float32 network input."""
    _check_rgb(image, 'camera image')
    return normalise(resize_cover_crop(image, *size_hw), mean, std)[None]


def preprocess_satellite(image: np.ndarray, size: int, mean, std) -> np.ndarray:
    """North-up satellite tile (square) -> ``1 x 3 x S x S`` float32 network input.

    The tile's footprint is kept whole (a plain resize: the grid must span the whole tile).
    """
    _check_rgb(image, 'satellite tile')
    h, w = image.shape[:2]
    if (h, w) != (size, size):
        interp = cv2.INTER_AREA if h > size else cv2.INTER_LINEAR
        image = cv2.resize(image, (size, size), interpolation=interp)
    return normalise(image, mean, std)[None]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Numerically stable softmax over the last axis, float64."""
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)
