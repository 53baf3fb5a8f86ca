"""Heading measurement model: a wrapped Gaussian core plus a uniform outlier component."""

from __future__ import annotations

import math

import numpy as np

from cvseq_localizer.filter.particles import wrap_angle


def usable_heading(yaw_rad: float, yaw_var_rad2: float) -> bool:
    """A given heading (e.g. an initial pose's) is used when it and its variance are finite
    and the variance lies in (0, 1) rad^2."""
    return math.isfinite(yaw_rad) and math.isfinite(yaw_var_rad2) and 0.0 < yaw_var_rad2 < 1.0


def heading_log_likelihood(
    yaw_rad: np.ndarray, yaw_meas_rad: float, std_rad: float, outlier_weight: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(M,)`` log-likelihood of a measured heading for particle headings ``yaw_rad`` and the
    ``(M,)`` probability of the core component.

    Core: Gaussian in the wrapped difference with ``std_rad`` (REP-103 yaw, rad); outlier:
    uniform over the circle with weight ``outlier_weight``, so a heading 180 deg off (a
    reversed match) cannot turn the cloud round in one frame.
    """
    d = wrap_angle(yaw_rad - yaw_meas_rad)
    log_core = -0.5 * (d / std_rad) ** 2 - math.log(std_rad * math.sqrt(2.0 * math.pi))
    log_core = log_core + math.log(1.0 - outlier_weight)
    log_out = math.log(outlier_weight / (2.0 * math.pi))
    log_lik = np.logaddexp(log_core, log_out)
    return log_lik, np.exp(log_core - log_lik)
