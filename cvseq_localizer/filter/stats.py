"""Counters of the particle filter and a rate limiter for repeated warnings."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field


@dataclass
class FilterStats:
    """Cumulative counters (kept across ``reset()``) and the last re-initialisation reason."""

    fixes_accepted: int = 0  # fixes used in an update (including the initialising fix)
    fixes_rejected: int = 0  # fixes rejected by the outlier gate
    fixes_ignored: int = 0  # NaN / unusable fixes
    grids_used: int = 0  # grid frames that weighted the particles
    grids_ignored: int = 0  # grid frames that were invalid (NaN, all zero, bad shape) or early
    resamples: int = 0
    reinitializations: int = 0  # re-anchors, divergences and clock-jump resets
    reanchors: int = 0  # re-initialisations on persistent, self-consistent GNSS jumps
    divergences: int = 0  # detected divergences (each followed by a re-initialisation)
    clock_resets: int = 0  # resets because a stamp went back in time
    grid_floor_frames: int = 0  # grid frames where no particle rose above the floor
    last_reinit_reason: str = ''


@dataclass
class WarnThrottle:
    """Logs each kind of warning at most once per ``period_s`` (monotonic clock)."""

    logger: logging.Logger
    period_s: float = 5.0
    _last: dict[str, float] = field(default_factory=dict)

    def warn(self, key: str, msg: str, *args: object) -> None:
        now = time.monotonic()
        last = self._last.get(key)
        if last is None or now - last >= self.period_s:
            self._last[key] = now
            self.logger.warning(msg, *args)
