"""``GeoConfig``: hyperparameters and input contract of the geometry-aware ``GeoLocNet``.

Separate from ``ModelConfig`` (the paper's perspective-input network) because the inputs differ:
the ground branch takes a bird's-eye view (``geo/bev.py``) instead of the camera frame. Checkpoints
carry it as a plain dict (``to_dict`` / ``from_dict``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from cvseq_localizer.geo.bev import BevSpec

FEATURE_STRIDE = 2  # both extractors: input px -> feature px


@dataclass(frozen=True)
class GeoConfig:
    """Sizes of ``GeoLocNet`` (defaults: the shipped ``geo_small`` preset).

    The satellite tile (``sat_size`` px over ``sat_ground_m`` metres, north-up) and the BEV
    (``bev_size`` px at ``bev_res_m``) share one ground resolution so that their features (at
    ``FEATURE_STRIDE``) can be correlated directly: ``sat_ground_m / sat_size == bev_res_m``.
    """

    sat_size: int = 128  # satellite input side (px)
    sat_ground_m: float = 64.0  # ground covered by the satellite input (m)
    grid_size: int = 16  # N: N x N output cells over the tile
    bev_size: int = 130  # BEV raster side (px, odd feature map: vehicle on a feature centre)
    bev_min_range_m: float = 3.0
    bev_max_range_m: float = 32.0
    channels: int = 12  # learned feature channels per extractor (+1 NCC grayscale channel)
    width: int = 24  # extractor hidden width
    heading_half_deg: float = 15.0  # heading search window around the prior: +- this
    heading_step_deg: float = 3.0  # spacing of the candidate headings
    dim: int = 32  # D: per-cell token width (fusion feature, TAM, heads)
    num_heads: int = 4
    ffn_dim: int = 64
    dropout: float = 0.0
    pe_temperature: float = 10000.0
    temporal: bool = True  # False: the single-frame baseline (no TAM)
    localnorm_px: int = 9  # window (feature px) of the local grayscale normalisation (NCC)
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.25, 0.25, 0.25)

    def __post_init__(self) -> None:
        res_sat = self.sat_ground_m / self.sat_size
        if abs(res_sat - self.bev_res_m) > 1e-9:
            raise ValueError(f'satellite {res_sat} m/px must equal the BEV {self.bev_res_m} m/px')
        if self.sat_size % (FEATURE_STRIDE * self.grid_size):
            raise ValueError(f'sat_size {self.sat_size} must be a multiple of 2 * grid_size')
        if self.bev_size % 2 or (self.bev_size // 2) % 2 == 0:
            raise ValueError(f'bev_size {self.bev_size} must be 2 x an odd number')
        if self.dim % 4 or self.dim % self.num_heads:
            raise ValueError(f'dim {self.dim} must be divisible by 4 and num_heads')
        if self.heading_step_deg <= 0 or self.heading_half_deg < 0:
            raise ValueError('heading window must be >= 0 with a positive step')

    @property
    def bev_res_m(self) -> float:
        """Ground resolution of both inputs (m/px)."""
        return self.sat_ground_m / self.sat_size

    @property
    def feat_res_m(self) -> float:
        """Ground resolution of the feature maps and the score volume (m/px)."""
        return self.bev_res_m * FEATURE_STRIDE

    @property
    def sat_feat(self) -> int:
        """Side of the satellite feature map / score volume (px)."""
        return self.sat_size // FEATURE_STRIDE

    @property
    def bev_feat(self) -> int:
        """Side of the BEV feature map (odd; the vehicle is the centre pixel)."""
        return self.bev_size // FEATURE_STRIDE

    @property
    def cell_feat(self) -> int:
        """Feature pixels per cell side."""
        return self.sat_feat // self.grid_size

    @property
    def cell_px(self) -> float:
        """Cell side in satellite input pixels."""
        return self.sat_size / self.grid_size

    @property
    def num_cells(self) -> int:
        return self.grid_size * self.grid_size

    @property
    def heading_deltas_rad(self) -> list[float]:
        """Candidate heading offsets from the prior (radians, ascending, symmetric)."""
        k = int(math.floor(self.heading_half_deg / self.heading_step_deg + 1e-9))
        return [math.radians(i * self.heading_step_deg) for i in range(-k, k + 1)]

    @property
    def num_headings(self) -> int:
        return len(self.heading_deltas_rad)

    def bev_spec(self) -> BevSpec:
        """The ``BevSpec`` the engine and the data stream project with."""
        return BevSpec(self.bev_size, self.bev_res_m, self.bev_min_range_m, self.bev_max_range_m)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> GeoConfig:
        """'geo_small' (shipped) or 'geo_tiny' (tests), plus field overrides."""
        if name not in GEO_PRESETS:
            raise ValueError(f'unknown geo preset {name!r}; choose one of {sorted(GEO_PRESETS)}')
        return replace(GEO_PRESETS[name], **overrides)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GeoConfig:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f'unknown GeoConfig keys {unknown}')
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


GEO_PRESETS: dict[str, GeoConfig] = {
    'geo_small': GeoConfig(),
    'geo_tiny': GeoConfig(
        sat_size=32,
        sat_ground_m=16.0,
        grid_size=4,
        bev_size=18,
        bev_min_range_m=1.0,
        bev_max_range_m=8.0,
        channels=4,
        width=8,
        heading_half_deg=6.0,
        heading_step_deg=3.0,
        dim=8,
        num_heads=2,
        ffn_dim=16,
        localnorm_px=3,
    ),
}
