"""A short simulated drive (bag + tiles.mbtiles + scenario.json) and a tiny model for CLI tests."""

from __future__ import annotations

from pathlib import Path

import torch

from cvseq_localizer.model.checkpoint import save_checkpoint
from cvseq_localizer.model.config import ModelConfig
from cvseq_localizer.model.net import build_model
from cvseq_localizer.sim.scenario import SimConfig
from cvseq_localizer.sim.world import WorldConfig

DRIVE_SIM = SimConfig(world=WorldConfig(size_m=200.0, res_m=0.25), duration_s=4.0)


def make_drive(root: Path, sim: SimConfig = DRIVE_SIM, seed: int = 4) -> tuple[Path, Path]:
    """``(bag, tiny_model.pt)`` of a simulated drive written under ``root``."""
    from cvseq_localizer.tools.sim_cli import write_scenario

    write_scenario(root / 'sim', sim, seed=seed)
    torch.manual_seed(0)
    model = root / 'tiny.pt'
    save_checkpoint(build_model(ModelConfig.preset('tiny')), model, extra={'sat_ground_m': 48.0})
    return root / 'sim' / 'bag', model
