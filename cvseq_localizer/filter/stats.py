"""Counters of the particle filter (the warning rate limiter is ``logutil.WarnThrottle``)."""

from __future__ import annotations

from dataclasses import dataclass

from cvseq_localizer.logutil import WarnThrottle

__all__ = ['FilterStats', 'WarnThrottle']


@dataclass
class FilterStats:
    """Cumulative counters (kept across ``reset()``) and the last re-initialisation reason.

    ``ParticleFilter.health()`` returns a frozen snapshot of these for diagnostics.
    """

    fixes_accepted: int = 0  # fixes used in an update (including the initialising fix)
    fixes_rejected: int = 0  # fixes rejected by the gate (paper_gate) or as a fix-track jump
    fixes_ignored: int = 0  # NaN / unusable / duplicated / too late / future fixes
    fixes_late: int = 0  # fixes fused at a stamp behind the filter time (history)
    grids_used: int = 0  # grid frames that weighted the particles
    grids_ignored: int = 0  # grid frames that were invalid (NaN, all zero, bad shape) or early
    odometry_used: int = 0
    odometry_ignored: int = 0
    headings_used: int = 0
    headings_ignored: int = 0
    resamples: int = 0
    reinitializations: int = 0  # re-anchors, divergences and clock-jump resets
    reanchors: int = 0  # re-initialisations on persistent, self-consistent GNSS jumps
    motion_reseeds: int = 0  # speed/yaw re-drawn from the GNSS fix track's velocity
    divergences: int = 0  # detected divergences (each followed by a re-initialisation)
    clock_resets: int = 0  # resets because a stamp went back (or forward) by a clock jump
    too_late: int = 0  # inputs older than the history window (ignored)
    future_stamps: int = 0  # inputs stamped far ahead of the filter time (ignored)
    duplicates: int = 0  # inputs with a stamp already used for that input kind (ignored)
    grid_floor_frames: int = 0  # grid frames where no particle rose above the floor
    grids_rejected: int = 0  # grid frames whose peak was gated off in a dropout
    last_reinit_reason: str = ''
