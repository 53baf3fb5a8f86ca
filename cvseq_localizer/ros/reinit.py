"""Re-initialising the filter from ``/initialpose`` and ``~/reset``.

Through ``Localizer.reinitialize`` / ``Localizer.reset`` (under the Localizer's lock, dropping the
hidden state); the path through the public ``filter`` attribute below only serves objects
without them (test doubles).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# A pose's yaw is fused only when its variance is below this (rad^2): rviz's "2D Pose Estimate"
# sends 0.0685 (15 deg std); larger means "heading unknown".
MAX_YAW_VAR_RAD2 = 1.0


def reinitialize(
    localizer: Any,
    stamp_ns: int,
    xy_enu_m: np.ndarray,
    cov_xy_m2: np.ndarray,
    yaw_rad: float,
    yaw_var_rad2: float,
) -> None:
    """Spread the filter around ``xy_enu_m`` (map frame, m) with ``cov_xy_m2`` (2, 2) and fuse
    the heading when its variance is known.

    Raises:
        ValueError: the map frame does not exist yet (no datum: no GNSS fix and no fixed datum).
    """
    core = getattr(localizer, 'reinitialize', None)
    if callable(core):
        core(stamp_ns, xy_enu_m, cov_xy_m2, yaw_rad, yaw_var_rad2)
        return
    if localizer.frame is None:
        raise ValueError('the map frame has no datum yet (set use_fixed_datum or wait for a fix)')
    f = localizer.filter
    f.reset()
    f.initialize(int(stamp_ns), np.asarray(xy_enu_m, np.float64), np.asarray(cov_xy_m2))
    if math.isfinite(yaw_var_rad2) and 0.0 < yaw_var_rad2 < MAX_YAW_VAR_RAD2:
        f.update_heading(int(stamp_ns), float(yaw_rad), float(yaw_var_rad2))


def reset_filter(localizer: Any) -> None:
    """Forget the filter's state; the next usable fix initialises it again."""
    core = getattr(localizer, 'reset', None)
    if callable(core):
        core()
        return
    localizer.filter.reset()
