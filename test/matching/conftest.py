import numpy as np
import pytest

from cvseq_localizer.matching.frame_eval import DEV_SEEDS, make_eval_frames
from cvseq_localizer.sim.camera import PinholeCamera
from cvseq_localizer.sim.world import WorldConfig


@pytest.fixture(scope='session')
def dev_frames():
    """Eight rendered frames of one small development world (exact heading prior removed)."""
    seed = DEV_SEEDS[0]
    world = WorldConfig(size_m=200.0)
    rng = np.random.default_rng(3)
    return make_eval_frames([seed], 8, PinholeCamera(), rng, world_config=world)
