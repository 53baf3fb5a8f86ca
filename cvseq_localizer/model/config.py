"""``ModelConfig``: every hyperparameter of the cross-view sequential network, with presets.

Only ``build_model`` (``net.py``) and the checkpoint loader read a config (ARCHITECTURE.md);
checkpoints carry their own config as a plain dict (``to_dict`` / ``from_dict``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
BACKBONES = ('resnet50', 'resnet18')
SAT_POOLS = ('avg', 'max')
FEATURE_STRIDE = 8  # backbone output stride (layer3 without its stride-2), satellite/ground px


@dataclass(frozen=True)
class ModelConfig:
    """Hyperparameters and input contract of ``CrossViewSeqNet`` (paper values by default)."""

    # Backbone family: 'resnet50' (Bottleneck blocks, C = 16 * width) or 'resnet18' (BasicBlocks,
    # C = 4 * width). Both are truncated after layer3 with output stride 8.
    backbone: str = 'resnet50'
    # Stem width in channels (64 = torchvision ResNet; smaller values give narrow CPU backbones).
    backbone_width: int = 64
    # Blocks in layer1, layer2, layer3 (ResNet-50: 3, 4, 6; ResNet-18: 2, 2, 2).
    backbone_blocks: tuple[int, int, int] = (3, 4, 6)
    # Token width D after the 1x1 projections; must be divisible by 4 (2D sine encoding).
    feature_dim: int = 256
    # Grid size N: the satellite feature map is adaptive-pooled to N x N cells (N^2 tokens).
    grid_size: int = 32
    # Pooling used to reach N x N: 'avg' (authors' sequence code) or 'max' (their baseline).
    sat_pool: str = 'avg'
    # M: number of fusion layers (self-attention + two-way cross-attention) before the final
    # satellite <- ground cross-attention block.
    num_fusion_layers: int = 4
    # Attention heads in every attention block; must divide feature_dim.
    num_heads: int = 8
    # Hidden width of every 2-layer FFN (4 * D in the paper).
    ffn_dim: int = 1024
    # Dropout in attention, after attention/FFN residual branches and inside FFNs (train only).
    dropout: float = 0.1
    # Temperature of the sinusoidal position encoding (frequencies temperature^(-4i/D)).
    pe_temperature: float = 10000.0
    # True: Temporal Attention Module over the hidden state (the paper). False: the single-image
    # WACV'24 baseline (CVLocationTrans), the hidden state is ignored.
    temporal: bool = True
    # Satellite input side S in pixels (square, north-up); one cell is S / N pixels.
    sat_size: int = 256
    # Ground (camera) input (height, width) in pixels.
    ground_size: tuple[int, int] = (260, 480)
    # Per-channel RGB normalisation applied by the caller before the network:
    # x = (rgb / 255 - mean) / std, for both views (ImageNet statistics).
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def num_cells(self) -> int:
        """N^2, the number of satellite grid cells (= tokens of F_f)."""
        return self.grid_size * self.grid_size

    @property
    def cell_px(self) -> float:
        """Side of one grid cell in satellite input pixels (S / N)."""
        return self.sat_size / self.grid_size

    @property
    def backbone_channels(self) -> int:
        """C, channels of the backbone output (layer3)."""
        expansion = 4 if self.backbone == 'resnet50' else 1
        return self.backbone_width * 4 * expansion

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> ModelConfig:
        """A named configuration: 'paper', 'paper_kitti', 'small' or 'tiny' (+ field overrides)."""
        if name not in PRESETS:
            raise ValueError(f'unknown model preset {name!r}; choose one of {sorted(PRESETS)}')
        return replace(PRESETS[name], **overrides)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of builtins (tuples become lists) that ``torch.load(weights_only)`` reads."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Inverse of ``to_dict``; unknown keys raise ValueError (a newer checkpoint format)."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f'unknown ModelConfig keys {unknown}')
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**values)


def _validate(cfg: ModelConfig) -> None:
    if cfg.backbone not in BACKBONES:
        raise ValueError(f'backbone {cfg.backbone!r} must be one of {BACKBONES}')
    if cfg.sat_pool not in SAT_POOLS:
        raise ValueError(f'sat_pool {cfg.sat_pool!r} must be one of {SAT_POOLS}')
    if len(cfg.backbone_blocks) != 3 or min(cfg.backbone_blocks) < 1:
        raise ValueError(f'backbone_blocks {cfg.backbone_blocks!r} needs 3 positive counts')
    if cfg.feature_dim % 4 or cfg.feature_dim % cfg.num_heads:
        raise ValueError(
            f'feature_dim {cfg.feature_dim} must be divisible by 4 and by num_heads '
            f'{cfg.num_heads}'
        )
    if cfg.grid_size < 1 or cfg.num_fusion_layers < 0 or cfg.backbone_width < 1:
        raise ValueError(f'invalid sizes in {cfg!r}')
    sat_feat = -(-cfg.sat_size // FEATURE_STRIDE)
    if sat_feat < cfg.grid_size:
        raise ValueError(
            f'sat_size {cfg.sat_size} px gives a {sat_feat}x{sat_feat} feature map, smaller '
            f'than grid_size {cfg.grid_size}'
        )
    if len(cfg.ground_size) != 2 or min(cfg.ground_size) < FEATURE_STRIDE:
        raise ValueError(f'ground_size {cfg.ground_size!r} must be (height, width) >= 8 px')
    if len(cfg.mean) != 3 or len(cfg.std) != 3 or min(cfg.std) <= 0:
        raise ValueError(f'mean {cfg.mean!r} / std {cfg.std!r} need 3 values, std > 0')


PRESETS: dict[str, ModelConfig] = {
    # The paper on CVIS: two ResNet-50 (to layer3), D=256, N=32, M=4, sat 256, ground 260x480.
    'paper': ModelConfig(),
    # The paper on KITTI-CVL: same network, ground 145x480.
    'paper_kitti': ModelConfig(ground_size=(145, 480)),
    # CPU preset: narrow ResNet-18-like backbones (C=128), D=64, N=16, M=2, sat 128, ground 96x320.
    'small': ModelConfig(
        backbone='resnet18',
        backbone_width=32,
        backbone_blocks=(2, 2, 2),
        feature_dim=64,
        grid_size=16,
        num_fusion_layers=2,
        num_heads=4,
        ffn_dim=256,
        sat_size=128,
        ground_size=(96, 320),
    ),
    # Unit tests: a step in a few milliseconds.
    'tiny': ModelConfig(
        backbone='resnet18',
        backbone_width=8,
        backbone_blocks=(1, 1, 1),
        feature_dim=32,
        grid_size=8,
        num_fusion_layers=1,
        num_heads=4,
        ffn_dim=64,
        sat_size=64,
        ground_size=(32, 64),
    ),
}
