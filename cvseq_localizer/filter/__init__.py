"""Particle filter: motion model, GNSS and grid likelihoods, resampling, estimate.

Framework-free numpy. The Localizer uses ``FilterConfig``, ``ParticleFilter``,
``divide_centre_prior`` (the network's training prior) and ``max_sigma_m``.
"""

from cvseq_localizer.filter.config import FilterConfig
from cvseq_localizer.filter.gnss import max_sigma_m
from cvseq_localizer.filter.particle_filter import ParticleFilter
from cvseq_localizer.filter.prior import divide_centre_prior
from cvseq_localizer.filter.stats import FilterStats

__all__ = ['FilterConfig', 'FilterStats', 'ParticleFilter', 'divide_centre_prior', 'max_sigma_m']
