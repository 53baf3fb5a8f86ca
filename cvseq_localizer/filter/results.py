"""Typed results of the filter's inputs, and a frozen health snapshot for diagnostics.

Every ``ParticleFilter.update_*`` (and ``predict``) returns an :class:`UpdateResult`: what
happened to the input (used, rejected as an outlier, or ignored, with the reason) and the
events of this call (initialisation, re-initialisation, reset, each with its reason), so no
caller polls counters or mutable attributes to find out.
"""

from __future__ import annotations

from dataclasses import dataclass

USED = 'used'
REJECTED = 'rejected'  # a valid measurement judged an outlier (gate, fix-track jump)
IGNORED = 'ignored'  # unusable input (NaN, absurd, duplicated, too late, from the future)

# event kinds
INITIALIZED = 'initialized'
REINITIALIZED = 'reinitialized'
RESET = 'reset'
MOTION_RESEEDED = 'motion_reseeded'  # speed and yaw re-drawn, positions kept

# reasons (stable strings: diagnostics and tests match on them)
NOT_INITIALIZED = 'filter not initialised'
BAD_VALUE = 'unusable value'
DUPLICATE = 'duplicated stamp'
TOO_LATE = 'older than the history window'
FUTURE = 'stamp in the future'
CLOCK_JUMP = 'clock jumped back'
CLOCK_JUMP_FORWARD = 'clock jumped forward'
NON_FINITE = 'non-finite likelihood'
GATE = 'outside the gate'
JUMP = 'the GNSS fix track jumped (suspected multipath)'
MOTION_DISAGREES = 'motion disagrees with the GNSS fix track'
GRID_FAR = 'the network peak is far from the estimate in a GNSS dropout'


@dataclass(frozen=True)
class FilterEvent:
    """Something the filter did to its particle set: ``kind`` (INITIALIZED, REINITIALIZED,
    RESET), ``reason`` (e.g. CLOCK_JUMP, a divergence reason) and the stamp (ns)."""

    kind: str
    reason: str
    stamp_ns: int


@dataclass(frozen=True)
class UpdateResult:
    """Outcome of one filter input.

    Attributes:
        status: USED, REJECTED or IGNORED.
        reason: why it was rejected or ignored ('' when used).
        events: what this call did to the particle set, in order.
        lag_s: how far behind the filter time the input was fused, s (0 = in order).
        inlier_prob: robust GNSS / heading only: weighted posterior probability that the
            measurement came from the core (not the outlier) component, in [0, 1]; NaN else.
    """

    status: str
    reason: str = ''
    events: tuple[FilterEvent, ...] = ()
    lag_s: float = 0.0
    inlier_prob: float = float('nan')

    @property
    def used(self) -> bool:
        return self.status == USED

    def __bool__(self) -> bool:
        """Truthy when used (compatibility with the former ``bool`` return values)."""
        return self.used

    @property
    def reinitialized(self) -> bool:
        """The particle set was (re-)initialised or reset during this call."""
        return bool(self.events)


@dataclass(frozen=True)
class FilterHealth:
    """Snapshot of the filter for diagnostics (counters are cumulative across resets)."""

    initialized: bool
    stamp_ns: int
    num_particles: int
    ess: float
    history_span_s: float
    odometry_active: bool
    gnss_model: str
    fixes_used: int
    fixes_rejected: int
    fixes_ignored: int
    fixes_late: int
    grids_used: int
    grids_ignored: int
    odometry_used: int
    odometry_ignored: int
    headings_used: int
    headings_ignored: int
    resamples: int
    reinitializations: int
    divergences: int
    clock_resets: int
    too_late: int
    future_stamps: int
    duplicates: int
    last_reinit_reason: str
