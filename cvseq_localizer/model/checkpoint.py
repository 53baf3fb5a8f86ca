"""Checkpoint I/O: the model's weights together with its config (input sizes, mean/std).

A checkpoint is a plain dict readable with ``torch.load(..., weights_only=True)``::

    {'format': 'cvseq_localizer.model/1', 'config': ModelConfig.to_dict(),
     'state_dict': {name: Tensor}, 'extra': {str: plain values},
     'tensor_sha256': hex SHA-256 over the state dict (names, dtypes, shapes, bytes)}

The checksum is verified on load (a file with flipped bytes in a tensor loads silently
otherwise: torch does not check the zip's CRCs); files written before it existed load with a
logged note.

Untrusted pickles are never loaded. Also loads torchvision ImageNet ResNet files into the
backbones (``load_backbone_weights``).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from cvseq_localizer.model.backbone import (
    KeyReport,
    load_torchvision_state_dict,
    state_dict_mismatch,
)
from cvseq_localizer.model.config import ModelConfig
from cvseq_localizer.model.net import CrossViewSeqNet, build_model

logger = logging.getLogger(__name__)

FORMAT = 'cvseq_localizer.model/1'
_PLAIN = (str, int, float, bool, type(None), Tensor)


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used (corrupt, wrong format, mismatched shapes)."""


def save_checkpoint(
    model: CrossViewSeqNet, path: str | os.PathLike, extra: dict[str, Any] | None = None
) -> Path:
    """Write ``model`` (weights + config) and ``extra`` (plain values only) to ``path``."""
    path = Path(path)
    extra = dict(extra or {})
    _check_plain(extra, 'extra')
    state_dict = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {
        'format': FORMAT,
        'config': model.config.to_dict(),
        'state_dict': state_dict,
        'extra': extra,
        'tensor_sha256': tensor_checksum(state_dict),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + '.tmp')
    torch.save(payload, tmp)
    os.replace(tmp, path)
    logger.info('saved checkpoint %s', path)
    return path


def read_file(path: str | os.PathLike, map_location: str | torch.device = 'cpu') -> Any:
    """``torch.load(path, weights_only=True)`` with errors that name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'checkpoint file {path} does not exist')
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # corrupt zip, truncated file, disallowed pickle globals...
        raise CheckpointError(f'{path}: not a readable weights-only torch file ({exc})') from exc


def read_checkpoint(path: str | os.PathLike) -> tuple[ModelConfig, dict[str, Tensor], dict]:
    """Read and validate a checkpoint (checksum included): ``(config, state_dict, extra)``."""
    config, state_dict, extra, checksum = _read_checkpoint(path)
    verify_checksum(state_dict, checksum, path)
    return config, state_dict, extra


def _read_checkpoint(path: str | os.PathLike) -> tuple[ModelConfig, dict, dict, Any]:
    """``(config, state_dict, extra, recorded checksum or None)``, validated but unverified."""
    data = read_file(path)
    if not isinstance(data, dict) or data.get('format') != FORMAT:
        found = data.get('format') if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(f'{path}: not a {FORMAT} checkpoint (format {found!r})')
    try:
        config = ModelConfig.from_dict(data['config'])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f'{path}: invalid model config ({exc})') from exc
    state_dict = data.get('state_dict')
    if not isinstance(state_dict, dict) or not all(
        isinstance(k, str) and isinstance(v, Tensor) for k, v in state_dict.items()
    ):
        raise CheckpointError(f'{path}: state_dict is not a dict of named tensors')
    extra = data.get('extra', {})
    if not isinstance(extra, dict):
        raise CheckpointError(f'{path}: extra is a {type(extra).__name__}, not a dict')
    check_extra(extra, str(path))
    return config, state_dict, extra, data.get('tensor_sha256')


def tensor_checksum(state_dict: dict[str, Tensor]) -> str:
    """Hex SHA-256 over every tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu().contiguous()
        digest.update(f'{name}|{t.dtype}|{tuple(t.shape)}|'.encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def verify_checksum(state_dict: dict[str, Tensor], expected: Any, path: Any) -> None:
    """CheckpointError naming ``path`` if the tensors do not match ``expected``; a checkpoint
    without a checksum (written before it existed) is accepted with a logged note."""
    if expected is None:
        logger.info('%s has no tensor checksum (older checkpoint): loaded unverified', path)
        return
    actual = tensor_checksum(state_dict)
    if actual != expected:
        raise CheckpointError(
            f'{path}: tensor checksum mismatch (file says {str(expected)[:16]}..., tensors give '
            f'{actual[:16]}...): the file is corrupt'
        )


# Checkpoint/export ``extra`` lengths (metres) the runtime reads: key -> may it be 0?
EXTRA_LENGTHS_M = {'sat_ground_m': False, 'offset_sigma_m': True}


def check_extra(extra: dict[str, Any], where: str) -> None:
    """CheckpointError naming ``where`` if an ``extra`` length is not a finite number of metres
    (> 0, or >= 0 where 0 means "none")."""
    for key, zero_ok in EXTRA_LENGTHS_M.items():
        if key not in extra:
            continue
        value = extra[key]
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not (ok and math.isfinite(value) and (value > 0 or (zero_ok and value == 0))):
            bound = '>= 0' if zero_ok else '> 0'
            raise CheckpointError(
                f'{where}: extra {key}={value!r} must be a finite number of metres {bound}'
            )


def load_checkpoint(
    path: str | os.PathLike, map_location: str | torch.device = 'cpu'
) -> tuple[CrossViewSeqNet, dict[str, Any]]:
    """Build the model from the checkpoint's own config and load its weights (eval mode).

    Returns ``(model, extra)``. Raises CheckpointError naming the file on any key or shape
    mismatch, FileNotFoundError if the file is missing.
    """
    config, state_dict, extra, checksum = _read_checkpoint(path)
    model = build_model(config)
    load_state_checked(model, state_dict, source=str(path))  # keys and shapes: clearer first
    verify_checksum(state_dict, checksum, path)
    return model.to(map_location).eval(), extra


def load_state_checked(model: nn.Module, state_dict: dict[str, Tensor], source: str) -> None:
    """Strict ``load_state_dict`` whose error lists missing, unexpected and mis-shaped keys."""
    problem = state_dict_mismatch(model.state_dict(), state_dict, shown=5)
    if problem:
        raise CheckpointError(f'{source}: weights do not fit the model: {problem}')
    model.load_state_dict(state_dict, strict=True)


def load_backbone_weights(
    model: CrossViewSeqNet, path: str | os.PathLike, branches: tuple[str, ...] = ('sat', 'ground')
) -> KeyReport:
    """Load a torchvision ResNet state-dict file (e.g. ImageNet ``resnet50-*.pth``) into the
    chosen backbones. Keys are checked strictly; ``layer4.*``/``fc.*`` are reported as ignored."""
    state_dict = read_file(path)
    if isinstance(state_dict, dict) and 'state_dict' in state_dict:
        state_dict = state_dict['state_dict']
    if not isinstance(state_dict, dict):
        raise CheckpointError(f'{path}: expected a ResNet state dict, got {type(state_dict)}')
    report = None
    for branch in branches:
        if branch not in ('sat', 'ground'):
            raise ValueError(f"backbone branch {branch!r} must be 'sat' or 'ground'")
        trunk = model.sat_backbone if branch == 'sat' else model.ground_backbone
        try:
            report = load_torchvision_state_dict(trunk, state_dict)
        except ValueError as exc:
            raise CheckpointError(f'{path}: {exc}') from exc
    logger.info('loaded %s into %s backbone(s)', path, '+'.join(branches))
    return report


def _check_plain(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f'{where}: keys must be str, got {k!r}')
            _check_plain(v, f'{where}.{k}')
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_plain(v, f'{where}[{i}]')
    elif not isinstance(value, _PLAIN):
        raise ValueError(f'{where}: {type(value).__name__} is not a plain checkpoint value')
