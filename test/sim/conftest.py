"""Shared small world for the simulator tests."""

import numpy as np
import pytest
from sim_testkit import SMALL

from cvseq_localizer.sim.world import build_world


@pytest.fixture(scope='session')
def small_world():
    """A read-only small world; tests that paint into a world build their own."""
    return build_world(SMALL, np.random.default_rng(7))
