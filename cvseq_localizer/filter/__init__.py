"""Particle filter: motion model, GNSS, odometry, heading and grid likelihoods, estimate.

Framework-free numpy. The Localizer uses ``FilterConfig`` and ``ParticleFilter`` (every input
returns an ``UpdateResult`` and ``ParticleFilter.health()`` a ``FilterHealth`` snapshot),
``divide_centre_prior`` (the network's training prior) and ``max_sigma_m``.
"""

from cvseq_localizer.filter.config import FilterConfig
from cvseq_localizer.filter.gnss import max_sigma_m
from cvseq_localizer.filter.particle_filter import ParticleFilter
from cvseq_localizer.filter.prior import divide_centre_prior
from cvseq_localizer.filter.results import (
    IGNORED,
    INITIALIZED,
    REINITIALIZED,
    REJECTED,
    RESET,
    USED,
    FilterEvent,
    FilterHealth,
    UpdateResult,
)
from cvseq_localizer.filter.stats import FilterStats

__all__ = [
    'IGNORED',
    'INITIALIZED',
    'REINITIALIZED',
    'REJECTED',
    'RESET',
    'USED',
    'FilterConfig',
    'FilterEvent',
    'FilterHealth',
    'FilterStats',
    'ParticleFilter',
    'UpdateResult',
    'divide_centre_prior',
    'max_sigma_m',
]
