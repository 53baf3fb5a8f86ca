"""ResNet feature extractors truncated after layer3 with output stride 8.

Written here because torchvision does not install beside the CPU torch; module and parameter
names follow ``torchvision.models.ResNet`` (``conv1``, ``bn1``, ``layer1.0.conv1``,
``layer1.0.downsample.0``...), so torchvision ImageNet weight files load with a strict key check
(``load_torchvision_state_dict``). As in the authors' code, layer3 has stride 1 and its *first*
block uses dilation 2 (``layer3.0.conv2``: 3x3, padding 2, dilation 2; ``layer3.0.downsample``:
1x1 stride 1); the other layer3 blocks are undilated. (torchvision's
``replace_stride_with_dilation`` instead dilates all blocks but the first.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from torch import Tensor, nn

logger = logging.getLogger(__name__)

IGNORED_PREFIXES = ('layer4.', 'fc.')  # parts of a full ResNet file that the truncated net drops


def _conv(cin: int, cout: int, k: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    pad = dilation * (k - 1) // 2
    return nn.Conv2d(cin, cout, k, stride=stride, padding=pad, dilation=dilation, bias=False)


def _downsample(cin: int, cout: int, stride: int) -> nn.Sequential | None:
    if stride == 1 and cin == cout:
        return None
    return nn.Sequential(_conv(cin, cout, 1, stride), nn.BatchNorm2d(cout))


class BasicBlock(nn.Module):
    """ResNet-18/34 block: two 3x3 convs; the first carries stride/dilation."""

    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv(cin, planes, 3, stride, dilation)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv(planes, planes, 3)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(cin, planes, stride)

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """ResNet-50 v1.5 block: 1x1, 3x3 (stride/dilation), 1x1 with expansion 4."""

    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        cout = planes * self.expansion
        self.conv1 = _conv(cin, planes, 1)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv(planes, planes, 3, stride, dilation)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = _conv(planes, cout, 1)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(cin, cout, stride)

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNetTrunk(nn.Module):
    """ResNet stem + layer1..layer3, output stride 8.

    Input ``[B, 3, H, W]`` normalised RGB; output ``[B, C, ceil(H/8), ceil(W/8)]`` with
    ``C = 4 * width * block.expansion`` (1024 for ResNet-50).
    """

    def __init__(self, block: type[nn.Module], blocks: tuple[int, int, int], width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self._cin = width
        self.layer1 = self._layer(block, width, blocks[0], stride=1, first_dilation=1)
        self.layer2 = self._layer(block, 2 * width, blocks[1], stride=2, first_dilation=1)
        self.layer3 = self._layer(block, 4 * width, blocks[2], stride=1, first_dilation=2)
        self.out_channels = self._cin
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')

    def _layer(
        self, block, planes: int, n: int, stride: int, first_dilation: int
    ) -> nn.Sequential:
        layers = [block(self._cin, planes, stride=stride, dilation=first_dilation)]
        self._cin = planes * block.expansion
        layers += [block(self._cin, planes) for _ in range(n - 1)]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """``[B, 3, H, W]`` -> ``[B, C, ceil(H/8), ceil(W/8)]``."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer3(self.layer2(self.layer1(x)))


def build_backbone(name: str, width: int, blocks: tuple[int, int, int]) -> ResNetTrunk:
    """A truncated ResNet: ``name`` 'resnet50' (Bottleneck) or 'resnet18' (BasicBlock)."""
    if name == 'resnet50':
        return ResNetTrunk(Bottleneck, tuple(blocks), width)
    if name == 'resnet18':
        return ResNetTrunk(BasicBlock, tuple(blocks), width)
    raise ValueError(f'unknown backbone {name!r}')


@dataclass(frozen=True)
class KeyReport:
    """Outcome of a state-dict load: keys loaded, and keys of the file deliberately not used."""

    loaded: list[str]
    ignored: list[str]


def state_dict_mismatch(own: dict[str, Tensor], given: dict[str, Tensor], shown: int = 8) -> str:
    """What keeps ``given`` from loading strictly into a module whose state dict is ``own``:
    missing, unexpected and mis-shaped keys (the first ``shown`` of each), or ``''``."""
    missing = sorted(set(own) - set(given))
    unexpected = sorted(set(given) - set(own))
    bad = [
        f'{k} {tuple(given[k].shape)} != {tuple(own[k].shape)}'
        for k in sorted(set(own) & set(given))
        if tuple(own[k].shape) != tuple(getattr(given[k], 'shape', ()))
    ]
    if not (missing or unexpected or bad):
        return ''
    return (
        f'missing {missing[:shown]} ({len(missing)}), unexpected {unexpected[:shown]} '
        f'({len(unexpected)}), shape mismatch {bad[:shown]} ({len(bad)})'
    )


def load_torchvision_state_dict(trunk: nn.Module, state_dict: dict[str, Tensor]) -> KeyReport:
    """Load a torchvision ResNet state dict into ``trunk`` with a strict key and shape check.

    ``layer4.*`` and ``fc.*`` keys of a full ResNet are ignored and reported in ``ignored``; any
    other unexpected key, any missing key or any shape mismatch raises ValueError listing them.
    """
    ignored = sorted(k for k in state_dict if k.startswith(IGNORED_PREFIXES))
    used = {k: v for k, v in state_dict.items() if not k.startswith(IGNORED_PREFIXES)}
    problem = state_dict_mismatch(trunk.state_dict(), used)
    if problem:
        raise ValueError(f'ResNet weights do not fit the backbone: {problem}')
    with torch.no_grad():
        trunk.load_state_dict(used, strict=True)
    if ignored:
        logger.info('ignored %d keys of a full ResNet (layer4/fc)', len(ignored))
    return KeyReport(loaded=sorted(used), ignored=ignored)
