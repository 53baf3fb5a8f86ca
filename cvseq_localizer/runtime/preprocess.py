"""Image preprocessing shared by every engine: raw uint8 RGB in, normalised float32 CHW out.

The sizes and normalisation come from the checkpoint's model config, so callers never repeat them.
"""

from __future__ import annotations

import cv2
import numpy as np

# Frames the camera can have sent: at least this many pixels on each side...
MIN_FRAME_SIDE_PX = 8
# ...an aspect ratio within this factor of the network input's (1920x1080 vs 480x260 is 1.04,
# KITTI's 1242x375 vs 480x145 is 1.0; a 20000 x 2 frame is 5400)...
MAX_ASPECT_FACTOR = 4.0
# ...and at most this many pixels (8K UHD is 33.2 Mpx).
MAX_FRAME_PIXELS = 40_000_000


class FrameError(ValueError):
    """A frame the engine cannot use; ``reason`` is a short key for counting."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def frame_problem(
    image: np.ndarray,
    size_hw: tuple[int, int],
    min_side_px: int = MIN_FRAME_SIDE_PX,
    max_aspect_factor: float = MAX_ASPECT_FACTOR,
    max_pixels: int = MAX_FRAME_PIXELS,
) -> str:
    """Why ``image`` cannot be a camera frame for a network input of ``size_hw`` (height,
    width, px), or ``''``.

    Reasons: ``format`` (not ``H x W x 3`` uint8), ``too_small`` (a side below
    ``min_side_px``), ``too_large`` (above ``max_pixels``), ``aspect`` (width/height differs
    from the input's by more than ``max_aspect_factor`` either way).
    """
    shape = getattr(image, 'shape', ())
    if len(shape) != 3 or shape[2] != 3 or getattr(image, 'dtype', None) != np.uint8:
        return 'format'
    h, w = int(shape[0]), int(shape[1])
    if min(h, w) < min_side_px:
        return 'too_small'
    if h * w > max_pixels:
        return 'too_large'
    factor = (w / h) / (size_hw[1] / size_hw[0])
    if not 1.0 / max_aspect_factor <= factor <= max_aspect_factor:
        return 'aspect'
    return ''


def _check_rgb(image: np.ndarray, what: str) -> None:
    if getattr(image, 'ndim', 0) != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        found = f'{getattr(image, "shape", None)} {getattr(image, "dtype", type(image))}'
        raise FrameError(f'{what} must be HxWx3 uint8 RGB, got {found}', 'format')
    if min(image.shape[:2]) < 2:
        raise FrameError(f'{what} of shape {image.shape} is too small', 'too_small')


def resize_cover_crop(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Centre-crop to the aspect ratio of ``height x width``, then resize to it.

    This is the paper's "resize 1920x1080 to 270x480, crop 260x480" in general form. Cropping
    first bounds the work and memory by the input and output sizes (resizing first made a
    20000 x 2 frame allocate gigabytes).
    """
    h, w = image.shape[:2]
    if w * height > h * width:  # wider than the target: keep the full height
        ch, cw = h, max(1, min(w, round(h * width / height)))
    else:
        ch, cw = max(1, min(h, round(w * height / width))), w
    top, left = (h - ch) // 2, (w - cw) // 2
    crop = image[top : top + ch, left : left + cw]
    interp = cv2.INTER_AREA if ch > height else cv2.INTER_LINEAR
    return cv2.resize(crop, (width, height), interpolation=interp)


def normalise(image: np.ndarray, mean: tuple, std: tuple) -> np.ndarray:
    """``H x W x 3`` uint8 -> ``3 x H x W`` float32 ``(rgb / 255 - mean) / std``."""
    x = image.astype(np.float32) / 255.0
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def preprocess_ground(image: np.ndarray, size_hw: tuple[int, int], mean, std) -> np.ndarray:
    """Camera frame -> ``1 x 3 x H x W`` float32 network input.

    Raises:
        FrameError: the frame cannot be the camera's (see ``frame_problem``).
    """
    _check_rgb(image, 'camera image')
    problem = frame_problem(image, size_hw)
    if problem:
        raise FrameError(
            f'camera image of shape {image.shape} cannot be used ({problem}) for a '
            f'{size_hw[0]}x{size_hw[1]} network input',
            problem,
        )
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
