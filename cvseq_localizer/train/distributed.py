"""DistributedDataParallel plumbing: a no-op unless launched by ``torchrun`` (WORLD_SIZE > 1).

Backend: NCCL on CUDA, gloo on CPU (how the tests exercise it here).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as tdist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler


@dataclass(frozen=True)
class DistContext:
    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup(device: str) -> DistContext:
    """Join the process group when ``torchrun`` started us; pick this rank's device."""
    world = int(os.environ.get('WORLD_SIZE', '1'))
    rank = int(os.environ.get('RANK', '0'))
    dev = torch.device(device)
    if world > 1:
        local = int(os.environ.get('LOCAL_RANK', '0'))
        if dev.type == 'cuda':
            dev = torch.device('cuda', local)
            torch.cuda.set_device(dev)
        if not tdist.is_initialized():
            tdist.init_process_group('nccl' if dev.type == 'cuda' else 'gloo')
    return DistContext(rank, world, dev)


def wrap(model: torch.nn.Module, ctx: DistContext) -> torch.nn.Module:
    if not ctx.enabled:
        return model
    ids = [ctx.device.index] if ctx.device.type == 'cuda' else None
    # Frozen backbones (stage 2) have requires_grad=False, which DDP skips by itself.
    return DistributedDataParallel(model, device_ids=ids)


def sampler(dataset: Dataset, ctx: DistContext, seed: int) -> DistributedSampler | None:
    return DistributedSampler(dataset, seed=seed, shuffle=True) if ctx.enabled else None


def set_epoch(loader: DataLoader, epoch: int) -> None:
    if isinstance(loader.sampler, DistributedSampler):
        loader.sampler.set_epoch(epoch)


def cleanup(ctx: DistContext) -> None:
    if ctx.enabled and tdist.is_initialized():
        tdist.barrier()
        tdist.destroy_process_group()
