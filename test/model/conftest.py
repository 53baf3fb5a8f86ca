"""Shared fixtures for the model tests: the tiny preset, seeded inputs, 2 torch threads."""

import pytest
import torch

from cvseq_localizer.model import ModelConfig, build_model

torch.set_num_threads(2)


@pytest.fixture
def tiny_config() -> ModelConfig:
    return ModelConfig.preset('tiny')


@pytest.fixture
def tiny_model(tiny_config):
    torch.manual_seed(0)
    return build_model(tiny_config).eval()


def _make_inputs(config: ModelConfig, batch: int = 2, frames: int = 3, seed: int = 0):
    """Random normalised ``(ground_seq [B, T, 3, H, W], sat [B, 3, S, S])``."""
    gen = torch.Generator().manual_seed(seed)
    h, w = config.ground_size
    ground = torch.randn(batch, frames, 3, h, w, generator=gen)
    sat = torch.randn(batch, 3, config.sat_size, config.sat_size, generator=gen)
    return ground, sat


@pytest.fixture
def make_inputs():
    """Factory ``make_inputs(config, batch=2, frames=3, seed=0)`` of seeded random inputs."""
    return _make_inputs
