import numpy as np
import pytest

from cvseq_localizer.matching.frame_eval import DEV_SEEDS, make_eval_frames
from cvseq_localizer.sim.camera import PinholeCamera
from cvseq_localizer.sim.world import WorldConfig


@pytest.fixture(scope='session')
def dev_frames():
    """16 rendered frames of two smaller development worlds (300 m: faster to build)."""
    world = WorldConfig(size_m=300.0)
    rng = np.random.default_rng(3)
    return make_eval_frames(list(DEV_SEEDS[:2]), 8, PinholeCamera(), rng, world_config=world)
