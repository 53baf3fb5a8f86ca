"""The protocol every inference engine implements (torch, onnxruntime, ...).

Callers pass raw ``H x W x 3`` uint8 RGB images; the engine owns preprocessing (resize, crop,
normalisation, all taken from the checkpoint) and returns numpy arrays. The hidden state is
opaque to callers: they keep it, pass it back, and ask the engine to shift it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class EngineOutput:
    """One frame's network output.

    Attributes:
        prob: ``(N, N)`` float64 cell probabilities (softmax over all cells), row 0 = north.
        offsets: ``(N, N, 2)`` in-cell position ``(row, col)`` in ``[0, 1)`` from the cell's
            top-left corner.
        hidden: the engine's opaque temporal state after this frame (``None`` without TAM).
    """

    prob: np.ndarray
    offsets: np.ndarray
    hidden: Any


@runtime_checkable
class InferenceEngine(Protocol):
    """What the Localizer needs from a network runtime."""

    #: grid cells per side (N)
    grid_n: int
    #: whether the model has a temporal module (hidden state matters)
    temporal: bool

    def encode_satellite(self, tile_rgb: np.ndarray) -> Any:
        """Encode a satellite tile (``S x S x 3`` uint8 RGB, north-up) once per tile."""

    def step(self, ground_rgb: np.ndarray, sat_feats: Any, hidden: Any | None) -> EngineOutput:
        """Run one camera frame (``H x W x 3`` uint8 RGB) against an encoded tile."""

    def shift_hidden(self, hidden: Any, d_row: int, d_col: int) -> Any:
        """Move the hidden state when the tile centre moves by whole cells (row S, col E)."""
