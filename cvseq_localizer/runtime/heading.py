"""``HeadingEvidence``: what an engine measured about the vehicle's heading in one frame.

Shared by every engine that searches over heading (the training-free geometric matcher, the
learned geometric network); the filter fuses it as a yaw measurement.

Conventions: yaw is REP-103 in the ENU map frame (0 = east, counter-clockwise), radians.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HeadingEvidence:
    """Per-frame heading measurement.

    Attributes:
        yaw_rad: circular mean of ``prob`` over ``candidates_rad`` (radians, in ``(-pi, pi]``).
        yaw_var_rad2: its variance (rad^2); ``math.inf`` when the frame says nothing about the
            heading (the camera does not see the ground, a blank image): the filter must skip it.
        candidates_rad: ``(K,)`` float64 heading hypotheses that were scored (radians).
        prob: ``(K,)`` float64 normalised likelihood of each candidate (sums to 1; uniform when
            uninformative). It is the frame's evidence only: the heading prior the caller passed
            in is not multiplied in, so fusing it with the prior does not count the prior twice.
    """

    yaw_rad: float
    yaw_var_rad2: float
    candidates_rad: np.ndarray
    prob: np.ndarray

    @property
    def informative(self) -> bool:
        """False when the variance is infinite (nothing to fuse)."""
        return math.isfinite(self.yaw_var_rad2)

    @classmethod
    def uninformative(cls, yaw_rad: float, candidates_rad: np.ndarray) -> HeadingEvidence:
        """Uniform over the candidates, centred on ``yaw_rad``, infinite variance."""
        cand = np.asarray(candidates_rad, np.float64).reshape(-1)
        prob = np.full(cand.shape, 1.0 / max(len(cand), 1))
        return cls(float(yaw_rad), math.inf, cand, prob)
