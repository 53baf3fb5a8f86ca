"""The protocol every inference engine implements (torch, onnxruntime, ...).

Callers pass raw ``H x W x 3`` uint8 RGB images; the engine owns preprocessing (resize, crop,
normalisation, all taken from the checkpoint) and returns numpy arrays. The hidden state is
opaque to callers: they keep it, pass it back, and ask the engine to shift it.

Geometry-aware engines (``needs_camera``: the training-free matcher, the geometric network)
project the frame onto the ground with the camera model and search headings around the caller's
heading prior; their ``step`` takes them as keyword arguments (:class:`FrameGeometry`) and their
output carries :class:`~cvseq_localizer.runtime.heading.HeadingEvidence`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from cvseq_localizer.geo.camera import CameraModel
from cvseq_localizer.runtime.heading import HeadingEvidence


@dataclass(frozen=True)
class EngineOutput:
    """One frame's network output.

    Attributes:
        prob: ``(N, N)`` float64 cell probabilities (softmax over all cells), row 0 = north.
        offsets: ``(N, N, 2)`` in-cell position ``(row, col)`` in ``[0, 1)`` from the cell's
            top-left corner.
        hidden: the engine's opaque temporal state after this frame (``None`` without TAM).
        heading: what the frame says about the heading (geometry-aware engines), else ``None``.
        ground_visible: False when the frame could not be used (no ground in view, blank image):
            ``prob`` is then uniform and must not be fused.
    """

    prob: np.ndarray
    offsets: np.ndarray
    hidden: Any
    heading: HeadingEvidence | None = None
    ground_visible: bool = True


@dataclass(frozen=True)
class FrameGeometry:
    """What a geometry-aware engine needs besides the images (keyword arguments of ``step``).

    Attributes:
        camera: the camera that took the frame (its intrinsics refer to the frame's size or are
            scaled to it by the engine).
        yaw_prior_rad: the filter's heading (REP-103, ENU), the centre of the heading search.
        yaw_prior_std_rad: its standard deviation (``None`` = unknown: a flat prior).
        position_prior_px: the filter's position on the tile, ``(row, col, sigma)`` in tile
            pixels (row 0 north; ``None`` = anywhere on the tile). Engines whose heading
            evidence marginalises over the tile's positions marginalise over this Gaussian
            instead. The Localizer sets it only for engines with ``takes_position_prior`` and
            ``kwargs`` passes it only when set, so engines that do not take it still work.
    """

    camera: CameraModel
    yaw_prior_rad: float
    yaw_prior_std_rad: float | None = None
    position_prior_px: tuple[float, float, float] | None = None

    def kwargs(self) -> dict[str, Any]:
        out = {
            'camera': self.camera,
            'yaw_prior_rad': self.yaw_prior_rad,
            'yaw_prior_std_rad': self.yaw_prior_std_rad,
        }
        if self.position_prior_px is not None:
            out['position_prior_px'] = self.position_prior_px
        return out


@runtime_checkable
class InferenceEngine(Protocol):
    """What the Localizer and the pipeline need from a network runtime."""

    #: short runtime name ('torch', 'onnx')
    name: str
    #: grid cells per side (N)
    grid_n: int
    #: satellite tile edge the network takes, px (S)
    sat_size: int
    #: whether the model has a temporal module (the hidden state carries information)
    temporal: bool
    #: training centre-prior sigma per axis, m (0 = unknown: no prior correction)
    offset_sigma_m: float
    #: ground size of the training satellite tiles, m (None = not recorded)
    sat_ground_m: float | None
    #: the checkpoint's extra values (provenance, training settings)
    metadata: Mapping[str, Any]
    #: geometry-aware: ``step`` takes ``FrameGeometry.kwargs()`` and returns heading evidence
    needs_camera: bool

    def encode_satellite(self, tile_rgb: np.ndarray) -> Any:
        """Encode a satellite tile (``S x S x 3`` uint8 RGB, north-up) once per tile."""

    def step(
        self, ground_rgb: np.ndarray, sat_feats: Any, hidden: Any | None, **geometry: Any
    ) -> EngineOutput:
        """Run one camera frame (``H x W x 3`` uint8 RGB) against an encoded tile.

        ``geometry`` is ``FrameGeometry.kwargs()`` for engines with ``needs_camera`` and empty
        for the others.
        """

    def shift_hidden(self, hidden: Any, d_row: int, d_col: int) -> Any:
        """Move the hidden state when the tile centre moves by whole cells (row S, col E)."""


def training_facts(metadata: Mapping[str, Any]) -> tuple[float, float | None]:
    """``(offset_sigma_m, sat_ground_m)`` from a checkpoint's metadata (0 / None if absent)."""
    sigma = float(metadata.get('offset_sigma_m', 0.0) or 0.0)
    ground = metadata.get('sat_ground_m')
    return sigma, None if ground is None else float(ground)


def engine_info(engine: InferenceEngine) -> dict[str, Any]:
    """Scalar facts about an engine for diagnostics (name, sizes, temporal, metadata)."""
    info: dict[str, Any] = {
        'engine': engine.name,
        'grid_n': int(engine.grid_n),
        'sat_size': int(engine.sat_size),
        'temporal': bool(engine.temporal),
        'needs_camera': bool(getattr(engine, 'needs_camera', False)),
    }
    meta = engine.metadata or {}
    info.update({k: v for k, v in meta.items() if isinstance(v, str | int | float)})
    return info
