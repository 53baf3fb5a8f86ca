"""Image file reading and aspect-keeping resizes shared by the real-dataset loaders.

Images are returned as ``H x W x 3`` uint8 RGB arrays. Errors name the file.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)


def read_rgb(path: str | Path) -> np.ndarray:
    """Read an image file as ``H x W x 3`` uint8 RGB.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file exists but cannot be decoded as an image.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'image file not found: {path}')
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None or bgr.size == 0:
        raise ValueError(f'cannot decode image file (corrupt or unsupported): {path}')
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def resize_to_width(image: np.ndarray, width: int | None) -> np.ndarray:
    """Downscale to ``width`` pixels keeping the aspect ratio (never upscales; ``None``: as is)."""
    h, w = image.shape[:2]
    if width is None or width >= w:
        return image
    height = max(1, round(h * width / w))
    return cv2.resize(image, (int(width), height), interpolation=cv2.INTER_AREA)


def resize_square(image: np.ndarray, size: int) -> np.ndarray:
    """Resize a square image to ``size x size`` (area filter when shrinking)."""
    h, w = image.shape[:2]
    if (h, w) == (size, size):
        return image
    interp = cv2.INTER_AREA if h > size else cv2.INTER_LINEAR
    return cv2.resize(image, (int(size), int(size)), interpolation=interp)


def stack_frames(frames: list[np.ndarray], paths: list[Path]) -> np.ndarray:
    """Stack camera frames into ``[T, H, W, 3]``; raise naming the first frame of another size."""
    shape = frames[0].shape
    for frame, path in zip(frames, paths):
        if frame.shape != shape:
            raise ValueError(
                f'camera image {path} has shape {frame.shape}, expected {shape} like {paths[0]}'
            )
    return np.stack(frames)
