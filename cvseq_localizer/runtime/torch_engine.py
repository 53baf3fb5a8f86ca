"""``TorchEngine``: runs a ``CrossViewSeqNet`` checkpoint with PyTorch on CPU or CUDA."""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Any

import numpy as np
import torch

from cvseq_localizer.model.checkpoint import load_checkpoint
from cvseq_localizer.model.net import CrossViewSeqNet
from cvseq_localizer.model.state import HiddenState, SatFeatures, shift_hidden
from cvseq_localizer.runtime.engine import EngineOutput, training_facts
from cvseq_localizer.runtime.preprocess import preprocess_ground, preprocess_satellite

log = logging.getLogger(__name__)
AUTOCAST_DTYPES = {'fp16': torch.float16, 'bf16': torch.bfloat16}


def resolve_device(device: str) -> torch.device:
    """``'cpu'``, ``'cuda'`` or ``'cuda:N'``; CUDA requested but absent is a clear error."""
    dev = torch.device(device)
    if dev.type == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError(f'device {device!r} requested but this torch has no usable CUDA')
    if dev.type not in ('cpu', 'cuda'):
        raise ValueError(f'device {device!r} is not cpu or cuda')
    return dev


class TorchEngine:
    """The :class:`~cvseq_localizer.runtime.engine.InferenceEngine` for PyTorch.

    Args:
        model: the network (put in eval mode here).
        device: 'cpu' or 'cuda[:N]'.
        precision: 'fp32', or 'fp16'/'bf16' autocast (CUDA only; ignored with a warning on CPU).
        metadata: the checkpoint's extra values (e.g. ``sat_ground_m``).
    """

    name = 'torch'
    needs_camera = False  # the paper's perspective-input network

    def __init__(
        self,
        model: CrossViewSeqNet,
        device: str = 'cpu',
        precision: str = 'fp32',
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.config = model.config
        self.metadata = dict(metadata or {})
        self.grid_n = int(self.config.grid_size)
        self.temporal = bool(self.config.temporal)
        self.sat_size = int(self.config.sat_size)
        self.offset_sigma_m, self.sat_ground_m = training_facts(self.metadata)
        self._autocast = None
        if precision != 'fp32':
            if precision not in AUTOCAST_DTYPES:
                raise ValueError(f'precision {precision!r} is not fp32, fp16 or bf16')
            if self.device.type == 'cuda':
                self._autocast = AUTOCAST_DTYPES[precision]
            else:
                log.warning('precision %s is for CUDA; running fp32 on CPU', precision)

    @classmethod
    def from_checkpoint(
        cls, path: str | os.PathLike, device: str = 'cpu', precision: str = 'fp32'
    ) -> TorchEngine:
        model, extra = load_checkpoint(path, map_location='cpu')
        return cls(model, device, precision, extra)

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).to(self.device)

    def _context(self) -> contextlib.ExitStack:
        stack = contextlib.ExitStack()
        stack.enter_context(torch.inference_mode())
        if self._autocast is not None:
            stack.enter_context(torch.autocast('cuda', dtype=self._autocast))
        return stack

    def encode_satellite(self, tile_rgb: np.ndarray) -> SatFeatures:
        cfg = self.config
        x = preprocess_satellite(tile_rgb, cfg.sat_size, cfg.mean, cfg.std)
        with self._context():
            return self.model.encode_satellite(self._tensor(x))

    def step(
        self, ground_rgb: np.ndarray, sat_feats: SatFeatures, hidden: HiddenState | None
    ) -> EngineOutput:
        cfg = self.config
        x = preprocess_ground(ground_rgb, cfg.ground_size, cfg.mean, cfg.std)
        with self._context():
            out = self.model.step(self._tensor(x), sat_feats, hidden)
        n = self.grid_n
        prob = torch.softmax(out.logits[0].float(), dim=-1).cpu().numpy().astype(np.float64)
        offsets = out.offsets[0].float().cpu().numpy().astype(np.float64)
        # The hidden state stays on the device between steps.
        return EngineOutput(prob.reshape(n, n), offsets.reshape(n, n, 2), out.hidden)

    def shift_hidden(self, hidden: HiddenState, d_row: int, d_col: int) -> HiddenState:
        return shift_hidden(hidden, d_row, d_col)
