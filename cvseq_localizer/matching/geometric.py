"""``GeometricMatcher``: the training-free reference engine (no weights).

Per frame: project the camera image onto the ground plane with the camera model (flat-ground
inverse perspective mapping, ``geo.bev``), grey + local normalisation, and for every heading
candidate in a window around the caller's heading prior score every vehicle position on the tile
by masked normalised cross-correlation (``cv2.matchTemplate``, ``TM_CCORR_NORMED`` with a mask,
on locally normalised rasters). The score volume ``(K, S, S)`` becomes a likelihood
``exp(score / temperature)``; the grid probability of a cell is the sum over its pixels and the
headings (weighted by the heading prior when its std is given), the offset is the cell's best
pixel (parabolic sub-pixel refinement), and the per-candidate marginal of the likelihood alone is
the heading evidence: over the whole tile, or, when the caller says where the vehicle is
(``position_prior_px``, the Localizer's filter position), over that Gaussian, so that an alias
tens of metres away cannot pick the heading (a joint position x heading likelihood per particle,
as OrienterNet's Markov filter uses, would keep more; this keeps the filter's interfaces).
This is the reference of ``FACTS.md`` section 6 (HC-Net's homography BEV + correlation,
OrienterNet's exhaustive position x rotation matching, without any learning): every report can
show what a learned matcher adds over geometry alone.

The temperature is fitted on development worlds only (``frame_eval.DEV_SEEDS``) with
``matching.calibrate.fit_temperature``; see ``DEFAULT_TEMPERATURE``. The other defaults were
chosen on the same development frames (100 frames, seeds 8000-8009, 8 deg heading error): a
2 px (1 m) normalisation window beat 3/4/6 px (median 0.69 vs 0.74/1.69/2.48 m at 4-30 m), and a
4-24 m ground range beat 4-16/20/30/36 m (0.44 vs 0.54/0.39/0.69/0.79 m, within 4 m 71 % vs
56-61 %). With ``refine_top=3`` (coarse-to-fine: every heading at half resolution, the best
three at full resolution) the development numbers were unchanged (0.45 m, 64 % within 1 m) at
about half the CPU time; the default stays exhaustive because its heading evidence covers the
whole window.

Bad input never raises from ``step``: a camera that cannot see the ground, a blank image or a
non-finite heading prior give a uniform grid and ``HeadingEvidence`` with infinite variance
(``GeoEngineOutput.ground_visible`` is False) and a rate-limited warning.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from cvseq_localizer.geo.camera import CameraModel
from cvseq_localizer.logutil import WarnThrottle
from cvseq_localizer.matching import bevmatch as bm
from cvseq_localizer.matching.volume import (
    cells,
    heading_evidence,
    position_weighted_mass,
    prior_weights,
)
from cvseq_localizer.runtime.engine import EngineOutput
from cvseq_localizer.runtime.heading import HeadingEvidence

log = logging.getLogger(__name__)

# Fitted by ``python -m cvseq_localizer.matching.calibrate`` on development seeds 8000-8009
# (frame_eval.DEV_SEEDS, 10 worlds x 10 frames, default camera, 8 deg heading error): the mean
# negative log probability of the true grid cell is minimal there (1.53 nats at 0.014 vs 1.81 at
# 0.02, 1.67 at 0.0095; uniform is 5.55).
DEFAULT_TEMPERATURE = 0.014
BLANK_STD = 2.0 / 255.0  # a BEV whose grey std is below this is blank (lens cap, dark, fog)


@dataclass(frozen=True)
class GeoTile:
    """An encoded tile: full resolution and (with ``refine_top``) half resolution."""

    fine: bm.TileSpectrum
    coarse: bm.TileSpectrum | None = None


@dataclass(frozen=True)
class GeometricConfig:
    """Geometry and search of the matcher (units in the names)."""

    grid_n: int = 16  # output grid cells per side
    sat_size: int = 128  # tile side the matcher works at (px); other tiles are resized
    sat_ground_m: float = 64.0  # ground edge of the tile (m): res = sat_ground_m / sat_size
    heading_window_deg: float = 16.0  # candidates span prior +- this (at least)
    heading_step_deg: float = 2.0  # candidate spacing
    # With a heading prior std the window widens to +- window_sigmas x std, at most
    # max_heading_window_deg: a fixed +-16 deg window misses a 15 deg-off prior (development
    # frames 8000-8009 with an N(0, 15 deg) prior error: median 7.6 m at +-16 deg, 0.62 m at
    # +-32 deg; with N(0, 8 deg) +-16 and +-32 deg were within 0.04 m of each other, so up to
    # an 8 deg std the window, and the cost, stay those of +-16 deg).
    window_sigmas: float = 2.0
    max_heading_window_deg: float = 40.0
    # Heading acquisition (``acquire_heading``: every heading, at this spacing) is answered
    # only when this share of the heading posterior lies within +-2 steps of its mode.
    # Development frames 8000-8019 (120 frames, prior N(centre, 8 m)): at 0.9, 44 % of the
    # frames answer, 91 % of those within 5 deg and 6 % more than 30 deg off; all frames
    # together 71 % / 22 %.
    acquire_step_deg: float = 3.0
    acquire_min_share: float = 0.9
    min_range_m: float = 4.0  # BEV ground range used (bonnet and blur below)
    max_range_m: float = 24.0  # ... and too few camera rows per metre above
    norm_sigma_px: float = 2.0  # local normalisation window (tile pixels)
    temperature: float = DEFAULT_TEMPERATURE  # likelihood = exp(NCC / temperature)
    min_valid_frac: float = 0.02  # BEV pixels that must see the ground, else uninformative
    # Coarse-to-fine: score all headings at half resolution, then only the ``refine_top`` most
    # likely ones at full resolution (0 = every heading at full resolution).
    refine_top: int = 0

    def __post_init__(self) -> None:
        if self.sat_size % self.grid_n:
            raise ValueError(f'sat_size {self.sat_size} is not a multiple of grid_n {self.grid_n}')
        if not (self.temperature > 0 and self.heading_step_deg > 0 and self.sat_ground_m > 0):
            raise ValueError(f'bad geometric matcher config {self}')

    @property
    def res_m(self) -> float:
        return self.sat_ground_m / self.sat_size

    def candidate_offsets_rad(self, prior_std_rad: float | None = None) -> np.ndarray:
        """``(K,)`` heading offsets from the prior (radians), symmetric, including 0; the
        window widens with the prior's std (``window_sigmas``, ``max_heading_window_deg``)."""
        window = self.heading_window_deg
        if prior_std_rad is not None and math.isfinite(prior_std_rad) and prior_std_rad > 0:
            wide = min(self.window_sigmas * math.degrees(prior_std_rad),
                       self.max_heading_window_deg)  # fmt: skip
            window = max(window, wide)
        k = int(math.floor(window / self.heading_step_deg + 1e-9))
        return np.radians(np.arange(-k, k + 1) * self.heading_step_deg)


@dataclass(frozen=True)
class GeoEngineOutput(EngineOutput):
    """``EngineOutput`` (with ``heading`` and ``ground_visible`` filled) plus the score volume.

    ``heading`` has infinite variance and ``prob`` is uniform (offsets at cell centres) when
    ``ground_visible`` is False (the camera cannot see the ground, blank image).

    Attributes:
        scores: ``(K, S, S)`` float32 NCC volume (``None`` when not visible); for diagnostics.
    """

    scores: np.ndarray | None = None


class GeometricMatcher:
    """Engine protocol (``encode_satellite``/``step``/``shift_hidden``) without weights.

    ``step`` needs the camera and the heading prior as keyword arguments (``needs_camera``).
    """

    name = 'geometric'
    temporal = False
    needs_camera = True
    takes_position_prior = True  # ``step(..., position_prior_px=)`` (FrameGeometry)
    offset_sigma_m = 0.0  # no training prior on the tile-centre offset

    def __init__(self, config: GeometricConfig | None = None) -> None:
        self.config = config or GeometricConfig()
        c = self.config
        self.grid_n = c.grid_n
        self.sat_size = c.sat_size
        self.sat_ground_m = c.sat_ground_m
        self.specs = {1: bm.body_bev_spec(c.res_m, c.min_range_m, c.max_range_m)}
        if c.refine_top > 0:
            self.specs[2] = bm.body_bev_spec(2 * c.res_m, c.min_range_m, c.max_range_m)
        self.metadata: dict[str, Any] = {'engine': 'geometric', **asdict(c)}
        self._bevs: dict[tuple[CameraModel, int], bm.BodyBev | None] = {}
        self._warn = WarnThrottle(log, 10.0)

    # ------------------------------------------------------------------------- protocol
    def encode_satellite(self, tile_rgb: np.ndarray) -> GeoTile:
        """``S x S x 3`` uint8 RGB north-up tile covering ``sat_ground_m`` -> encoded tile."""
        s = self.sat_size
        if tile_rgb.shape[:2] != (s, s):
            tile_rgb = cv2.resize(tile_rgb, (s, s), interpolation=cv2.INTER_AREA)
        gray = bm.to_gray(tile_rgb)
        out = {}
        for level, spec in self.specs.items():
            g = gray if level == 1 else cv2.resize(gray, (s // level, s // level),
                                                   interpolation=cv2.INTER_AREA)  # fmt: skip
            norm = bm.local_normalize(g, None, self.config.norm_sigma_px / level)
            out[level] = bm.tile_spectrum(norm, spec.size_px // 2)
        return GeoTile(out[1], out.get(2))

    def shift_hidden(self, hidden: Any, d_row: int, d_col: int) -> None:
        return None

    def step(
        self,
        ground_rgb: np.ndarray,
        sat_feats: GeoTile,
        hidden: Any | None = None,
        *,
        camera: CameraModel,
        yaw_prior_rad: float,
        yaw_prior_std_rad: float | None = None,
        position_prior_px: tuple[float, float, float] | None = None,
    ) -> GeoEngineOutput:
        """Match one ``H x W x 3`` uint8 RGB frame taken with ``camera`` against a tile.

        ``yaw_prior_rad`` centres the heading window (REP-103, radians); with
        ``yaw_prior_std_rad`` the headings are weighted by that Gaussian prior in ``prob``
        (never in ``heading``, which is the frame's evidence only).
        ``position_prior_px`` ``(row, col, sigma)`` (tile pixels, row 0 north) is where the
        caller believes the vehicle is: ``heading`` is then the frame's likelihood of each
        heading marginalised over that Gaussian instead of over the whole tile, so that an
        alias elsewhere on the tile does not choose the heading (``prob`` is not changed).
        """
        offsets = self.config.candidate_offsets_rad(yaw_prior_std_rad)
        cands = np.angle(np.exp(1j * (yaw_prior_rad + offsets)))
        bev_model = self._body_bev(camera, ground_rgb.shape[:2], 1)
        if bev_model is None or not math.isfinite(yaw_prior_rad):
            return self._uninformative(yaw_prior_rad, cands)
        gray = bm.to_gray(ground_rgb)
        fine = self._scores(bev_model, gray, sat_feats.fine, cands, 1)
        if fine is None:
            self._warn.warn('blank', 'geometric matcher: blank BEV (uniform output)')
            return self._uninformative(yaw_prior_rad, cands)
        if self.config.refine_top > 0 and sat_feats.coarse is not None:
            coarse_model = self._body_bev(camera, ground_rgb.shape[:2], 2)
            coarse = self._scores(coarse_model, gray, sat_feats.coarse, cands, 2)
            if coarse is not None:
                weights = prior_weights(cands, yaw_prior_rad, yaw_prior_std_rad)
                mass = position_weighted_mass(coarse, self.config.temperature, None) * weights
                keep = np.sort(np.argsort(-mass, kind='stable')[: self.config.refine_top])
                cands = cands[keep]
        scores = fine(cands)
        return self.posterior(scores, cands, yaw_prior_rad, yaw_prior_std_rad,
                              position_prior_px=position_prior_px)  # fmt: skip

    def _scores(self, model: bm.BodyBev | None, gray: np.ndarray, tile: bm.TileSpectrum,
                cands: np.ndarray, level: int):  # fmt: skip
        """The score volume of ``cands`` at one resolution level, or None for a blank BEV.

        Returns the volume ``(K, S, S)`` for level 2 and a function of the candidates for level
        1 (so that the coarse stage can choose them first).
        """
        if model is None:
            return None
        bev = model.project(gray)
        norm = bm.local_normalize(bev, model.valid, self.config.norm_sigma_px / level)
        if float(bev[model.valid].std()) < BLANK_STD or float(np.abs(norm).mean()) < 1e-3:
            return None
        mask = model.valid.astype(np.float32)

        def volume(yaws: np.ndarray) -> np.ndarray:
            out = np.empty((len(yaws), tile.tile_px, tile.tile_px), np.float32)
            for k, yaw in enumerate(yaws):
                t, v = model.rotated(norm, mask, float(yaw))
                out[k] = bm.score_map(tile, t, v)
            return np.nan_to_num(out, copy=False, nan=0.0, posinf=0.0, neginf=0.0)

        return volume if level == 1 else volume(cands)

    def acquire_heading(
        self,
        ground_rgb: np.ndarray,
        sat_feats: GeoTile,
        *,
        camera: CameraModel,
        prior_rc_px: tuple[float, float],
        prior_sigma_px: float,
    ) -> HeadingEvidence | None:
        """The heading from one frame with no heading prior (OrienterNet's exhaustive search
        over all rotations), the vehicle's position given as a Gaussian on the tile (``(row,
        col)`` pixel and std): the posterior's mode when it holds ``acquire_min_share`` within
        +-2 steps, else None (ambiguous, or nothing visible). About 7x a ``step``'s cost."""
        c = self.config
        cands = np.radians(np.arange(-180.0, 180.0, c.acquire_step_deg))
        model = self._body_bev(camera, ground_rgb.shape[:2], 1)
        if model is None or not prior_sigma_px > 0:
            return None
        volume = self._scores(model, bm.to_gray(ground_rgb), sat_feats.fine, cands, 1)
        if volume is None:
            return None
        scores = volume(cands)
        prior = (prior_rc_px[0], prior_rc_px[1], prior_sigma_px)
        mass = position_weighted_mass(scores, c.temperature, prior)
        p = mass / mass.sum()
        k = int(np.argmax(p))
        near = np.abs(np.angle(np.exp(1j * (cands - cands[k])))) <= math.radians(
            2.01 * c.acquire_step_deg
        )
        if p[near].sum() < c.acquire_min_share:
            return None
        mode = heading_evidence(cands[near], p[near], math.radians(c.acquire_step_deg))
        return HeadingEvidence(mode.yaw_rad, mode.yaw_var_rad2, cands, p)

    # -------------------------------------------------------------------------- internals
    def _body_bev(
        self, camera: CameraModel, shape_hw: tuple[int, int], level: int
    ) -> bm.BodyBev | None:
        """Cached BEV tables for ``camera`` scaled to the image; None if it sees no ground."""
        h, w = shape_hw
        if (camera.height_px, camera.width_px) != (h, w):
            if abs(camera.width_px / camera.height_px - w / h) > 0.02 * w / h:
                self._warn.warn('aspect', 'geometric matcher: image %dx%d does not have the '
                                   'aspect ratio of the %dx%d camera (cropped?); scaling anyway',
                                   w, h, camera.width_px, camera.height_px)  # fmt: skip
            camera = camera.scaled(w, h)
        if (camera, level) not in self._bevs:
            try:
                camera.validate()
                bev = bm.BodyBev(camera, self.specs[level])
                if bev.valid.mean() < self.config.min_valid_frac:
                    raise ValueError('the camera sees too little ground in the BEV range')
            except ValueError as exc:
                log.warning('geometric matcher: unusable camera (%s); uniform output', exc)
                bev = None
            self._bevs[camera, level] = bev
        return self._bevs[camera, level]

    def _uninformative(self, yaw_prior_rad: float, cands: np.ndarray) -> GeoEngineOutput:
        n = self.grid_n
        prob = np.full((n, n), 1.0 / (n * n))
        offsets = np.full((n, n, 2), 0.5)
        yaw = yaw_prior_rad if math.isfinite(yaw_prior_rad) else 0.0
        cands = np.nan_to_num(cands)
        heading = HeadingEvidence.uninformative(yaw, cands)
        return GeoEngineOutput(prob, offsets, None, heading, False, None)

    def posterior(
        self,
        scores: np.ndarray,
        cands: np.ndarray,
        yaw_prior_rad: float,
        yaw_prior_std_rad: float | None,
        temperature: float | None = None,
        position_prior_px: tuple[float, float, float] | None = None,
    ) -> GeoEngineOutput:
        """Score volume ``(K, S, S)`` at headings ``cands`` -> output (``temperature`` override
        for calibration; the config's by default; ``position_prior_px`` as in ``step``)."""
        temp = float(temperature or self.config.temperature)
        lik = np.exp((scores - scores.max()) * np.float32(1.0 / temp))
        per_heading = position_weighted_mass(scores, temp, position_prior_px)  # (K,)
        heading = heading_evidence(cands, per_heading, math.radians(self.config.heading_step_deg))
        weights = prior_weights(cands, yaw_prior_rad, yaw_prior_std_rad).astype(np.float32)
        pix = (weights @ lik.reshape(len(cands), -1)).reshape(lik.shape[1:]).astype(np.float64)
        total = pix.sum()
        if not (math.isfinite(total) and total > 0):
            return self._uninformative(yaw_prior_rad, cands)
        pix /= total
        prob, offsets = cells(pix, self.grid_n)
        return GeoEngineOutput(prob, offsets, None, heading, True, scores)
