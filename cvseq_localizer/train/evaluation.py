"""Validation of the network alone: the paper's sequence mean/median error in metres."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from cvseq_localizer.model.heads import decode
from cvseq_localizer.train.collate import Batch


@torch.inference_mode()
def batch_errors_m(model: nn.Module, batch: Batch) -> np.ndarray:
    """``[B, T]`` position errors (m) of the argmax-refined prediction of every frame."""
    logits, offsets = model(batch.ground, batch.sat)
    cell_px = model.config.sat_size / model.config.grid_size
    xy = decode(logits, offsets, cell_px).xy_px  # [B, T, 2]
    err_px = torch.linalg.norm(xy - batch.xy_px, dim=-1)
    return (err_px * batch.metres_per_px[:, None]).cpu().numpy()


def validate(model: nn.Module, batches) -> dict[str, float]:
    """Sequence error (mean over each sequence's frames), then mean/median over sequences.

    Also the per-frame mean and the fraction of frames within 4 m.
    """
    was_training = model.training
    model.eval()
    errors = [batch_errors_m(model, b) for b in batches]
    model.train(was_training)
    if not errors:
        return {}
    frames = np.concatenate([e.reshape(-1) for e in errors])
    seq = np.concatenate([e.mean(axis=1) for e in errors])
    return {
        'seq_mean_m': float(seq.mean()),
        'seq_median_m': float(np.median(seq)),
        'frame_mean_m': float(frames.mean()),
        'within_4m': float((frames <= 4.0).mean()),
        'sequences': int(seq.size),
    }
