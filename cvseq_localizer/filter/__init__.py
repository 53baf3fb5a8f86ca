"""Particle filter: motion model, GNSS and grid likelihoods, resampling, estimate.

Framework-free numpy. The Localizer uses ``FilterConfig`` and ``ParticleFilter``.
"""

from cvseq_localizer.filter.config import FilterConfig
from cvseq_localizer.filter.particle_filter import ParticleFilter
from cvseq_localizer.filter.stats import FilterStats

__all__ = ['FilterConfig', 'FilterStats', 'ParticleFilter']
