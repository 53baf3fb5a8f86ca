"""``GeoEngine``: runs a ``GeoLocNet`` checkpoint (geometric mode) with PyTorch on CPU.

Per frame: the camera image is projected onto the ground plane with the caller's camera model,
north-up at the filter's heading prior (numpy/OpenCV), then the network scores every 1 m position
of the tile at 11 candidate headings around the prior and returns the N x N cell probabilities,
in-cell offsets, the TAM hidden state and a :class:`HeadingEvidence`.

Bad input: a camera that cannot see the ground or has degenerate intrinsics raises ValueError the
first time it is seen (a start-up error for the node); an image whose size differs from the camera
is used with the camera scaled to it when the aspect ratio matches (ValueError otherwise); a
camera far from the training range logs a rate-limited warning; a frame whose projection is
(almost) empty returns a uniform grid and uninformative heading evidence, with a warning.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from cvseq_localizer.geo.camera import CameraModel
from cvseq_localizer.logutil import WarnThrottle
from cvseq_localizer.model.geo_checkpoint import load_geo_checkpoint
from cvseq_localizer.model.geo_inputs import BevProjector, sat_input
from cvseq_localizer.model.geometric import GeoLocNet, GeoSatFeatures
from cvseq_localizer.model.state import HiddenState, shift_hidden
from cvseq_localizer.runtime.heading import HeadingEvidence

log = logging.getLogger(__name__)
MIN_VALID_FRACTION = 0.02  # of the BEV raster; below it the frame carries no evidence


@dataclass(frozen=True)
class GeoEngineOutput:
    """One frame: ``prob (N, N)`` float64, ``offsets (N, N, 2)`` (row, col) in [0, 1) from the
    cell's top-left, the opaque ``hidden`` state, and the ``heading`` evidence."""

    prob: np.ndarray
    offsets: np.ndarray
    hidden: Any
    heading: HeadingEvidence


def heading_evidence(prior_rad: float, deltas: np.ndarray, prob: np.ndarray) -> HeadingEvidence:
    """Circular mean/variance of ``prob`` over ``prior + deltas`` (one candidate step added as
    quantisation variance ``step^2 / 12``)."""
    p = np.asarray(prob, np.float64).reshape(-1)
    cand = prior_rad + np.asarray(deltas, np.float64)
    s = p.sum()
    if not np.all(np.isfinite(p)) or s <= 0:
        return HeadingEvidence.uninformative(prior_rad, cand)
    p = p / s
    mean_d = float(np.angle(np.sum(p * np.exp(1j * deltas))))
    step = float(deltas[1] - deltas[0]) if len(deltas) > 1 else math.radians(3.0)
    var = float(np.sum(p * (deltas - mean_d) ** 2)) + step**2 / 12.0
    yaw = math.remainder(prior_rad + mean_d, 2 * math.pi)
    return HeadingEvidence(yaw, var, cand, p)


class GeoEngine:
    """The geometric-mode engine; see the module docstring.

    Attributes: ``grid_n``, ``sat_size``, ``sat_ground_m``, ``offset_sigma_m``, ``temporal``,
    ``needs_camera = True``, ``metadata`` (the checkpoint's extra values).
    """

    name = 'geo_torch'
    needs_camera = True

    def __init__(
        self, model: GeoLocNet, metadata: dict[str, Any] | None = None, device: str = 'cpu'
    ) -> None:
        if torch.device(device).type != 'cpu':
            raise ValueError(f'GeoEngine runs on cpu only, got {device!r}')
        self.model = model.eval()
        self.config = cfg = model.config
        self.metadata = dict(metadata or {})
        self.grid_n = int(cfg.grid_size)
        self.sat_size = int(cfg.sat_size)
        self.sat_ground_m = float(self.metadata.get('sat_ground_m', cfg.sat_ground_m))
        self.offset_sigma_m = float(self.metadata.get('offset_sigma_m', 8.0))
        self.temporal = bool(cfg.temporal)
        self.deltas = np.asarray(cfg.heading_deltas_rad, np.float64)
        self._cameras: dict[CameraModel, BevProjector] = {}
        self._warn = WarnThrottle(log, 10.0)

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, device: str = 'cpu', **overrides):
        model, extra = load_geo_checkpoint(path, 'cpu', **overrides)
        return cls(model, extra, device)

    # ------------------------------------------------------------------------------- camera
    def check_camera(self, camera: CameraModel) -> list[str]:
        """Validate ``camera`` (ValueError if unusable); returns how it departs from training."""
        camera.validate()
        ranges = self.metadata.get('train_camera_ranges', {})
        out = []
        for key, value in (
            ('hfov_deg', camera.hfov_deg),
            ('height_m', camera.mount.z_m),
            ('pitch_deg', math.degrees(camera.mount.pitch_rad)),
        ):
            lo, hi = ranges.get(key, (-math.inf, math.inf))
            if not lo - 0.1 * abs(hi - lo) <= value <= hi + 0.1 * abs(hi - lo):
                out.append(f'{key} {value:.2f} outside the trained {lo}..{hi}')
        if abs(math.degrees(camera.mount.roll_rad)) > 5.0:
            out.append(f'roll {math.degrees(camera.mount.roll_rad):.1f} deg (trained: 0)')
        return out

    def _projector_for(self, camera: CameraModel, image: np.ndarray) -> BevProjector:
        """The cached BEV projector of ``camera`` (scaled to the image when needed)."""
        h, w = image.shape[:2]
        key = camera
        cached = self._cameras.get(key)
        if cached is not None and (cached.camera.height_px, cached.camera.width_px) == (h, w):
            return cached
        issues = self.check_camera(camera)
        if issues:
            msg = '; '.join(issues)
            self._warn.warn('camera', 'camera far from the training cameras: %s', msg)
        if (h, w) != (camera.height_px, camera.width_px):
            ar_img, ar_cam = w / h, camera.width_px / camera.height_px
            if abs(ar_img - ar_cam) > 0.01 * ar_cam:
                raise ValueError(
                    f'image is {w}x{h} px but the camera model is '
                    f'{camera.width_px}x{camera.height_px} px (different aspect ratio)'
                )
            self._warn.warn('scale', 'image %dx%d px: scaling the camera model to it', w, h)
            camera = camera.scaled(w, h)
        if len(self._cameras) > 8:
            self._cameras.clear()
        self._cameras[key] = proj = BevProjector(camera, self.config)
        return proj

    # -------------------------------------------------------------------------------- steps
    def encode_satellite(self, tile_rgb: np.ndarray) -> GeoSatFeatures:
        """North-up tile (square uint8 RGB covering ``sat_ground_m``), once per tile."""
        x = torch.from_numpy(sat_input(tile_rgb, self.config))[None]
        with torch.inference_mode():
            return self.model.encode_satellite(x)

    def step(
        self,
        ground_rgb: np.ndarray,
        sat_feats: GeoSatFeatures,
        hidden: HiddenState | None,
        *,
        camera: CameraModel,
        yaw_prior_rad: float,
        yaw_prior_std_rad: float | None = None,
    ) -> GeoEngineOutput:
        """One camera frame (``H x W x 3`` uint8 RGB) -> :class:`GeoEngineOutput`.

        ``yaw_prior_rad`` (REP-103 ENU) centres the +-``heading_half_deg`` search;
        ``yaw_prior_std_rad`` only triggers a warning when the window is narrower than 1.5 sigma.
        """
        if not math.isfinite(yaw_prior_rad):
            raise ValueError(f'yaw prior {yaw_prior_rad} is not finite')
        if ground_rgb.ndim != 3 or ground_rgb.shape[2] != 3 or ground_rgb.dtype != np.uint8:
            raise ValueError(f'camera image must be HxWx3 uint8, got {ground_rgb.shape}')
        if yaw_prior_std_rad is not None and 1.5 * yaw_prior_std_rad > self.deltas[-1]:
            self._warn.warn(
                'window',
                'heading prior std %.1f deg is wide for the +-%.0f deg search window',
                math.degrees(yaw_prior_std_rad),
                math.degrees(self.deltas[-1]),
            )
        bev, mask = self._projector_for(camera, ground_rgb)(ground_rgb, yaw_prior_rad)
        n = self.grid_n
        if mask.mean() < MIN_VALID_FRACTION:
            self._warn.warn('empty', 'the camera frame barely projects onto the ground')
            return self._uninformative(hidden, sat_feats, yaw_prior_rad)
        with torch.inference_mode():
            out = self.model.step(
                torch.from_numpy(bev)[None], torch.from_numpy(mask)[None], sat_feats, hidden
            )
        prob = torch.softmax(out.logits[0].double(), -1).numpy().reshape(n, n)
        offsets = out.offsets[0].double().numpy().reshape(n, n, 2)
        head_p = out.heading_prob[0].double().numpy()
        heading = heading_evidence(yaw_prior_rad, self.deltas, head_p)
        if not (np.all(np.isfinite(prob)) and np.all(np.isfinite(offsets))):
            self._warn.warn('nan', 'network output is not finite; frame ignored')
            return self._uninformative(hidden, sat_feats, yaw_prior_rad)
        return GeoEngineOutput(prob, offsets, out.hidden, heading)

    def _uninformative(self, hidden, sat_feats: GeoSatFeatures, yaw: float) -> GeoEngineOutput:
        n = self.grid_n
        if hidden is None:
            b = sat_feats.cells.shape[0]
            hidden = HiddenState.empty(b, n * n, self.config.dim)
        return GeoEngineOutput(
            np.full((n, n), 1.0 / (n * n)),
            np.full((n, n, 2), 0.5),
            hidden,
            HeadingEvidence.uninformative(yaw, yaw + self.deltas),
        )

    def shift_hidden(self, hidden: HiddenState, d_row: int, d_col: int) -> HiddenState:
        """Re-grid after the tile centre moved by whole cells (row south, col east)."""
        return shift_hidden(hidden, d_row, d_col)


def load_geo_engine(path: str | os.PathLike, device: str = 'cpu', **overrides) -> GeoEngine:
    """A :class:`GeoEngine` from a geo checkpoint (``overrides``: e.g. ``temporal=False``)."""
    return GeoEngine.from_checkpoint(path, device, **overrides)
