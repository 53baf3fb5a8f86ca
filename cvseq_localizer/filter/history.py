"""Fixed-lag history: each particle's own past states, so late measurements fuse at their stamp.

Hand-written because no kept library does per-particle ancestry for numpy particle sets. A
snapshot of positions, biases and headings is stored at most every ``step_ns``; resampling
composes an ancestry index per snapshot, so row ``i`` of ``state_at`` is always the past of the
current particle ``i``. A measurement stamped in the past then simply re-weights the current
particles by its likelihood at their past states (the trajectory posterior of a particle
filter); nothing is re-propagated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cvseq_localizer.filter.particles import Particles, wrap_angle


@dataclass(frozen=True)
class PastState:
    """Current particles' states at a past stamp: ``xy_enu_m``/``bias_enu_m`` ``(M, 2)`` m,
    ``yaw_rad`` ``(M,)``."""

    xy_enu_m: np.ndarray
    bias_enu_m: np.ndarray
    yaw_rad: np.ndarray


class ParticleHistory:
    """Snapshots over ``window_ns``; the newest state is the live particle set itself."""

    def __init__(self, window_ns: int, step_ns: int = 50_000_000) -> None:
        self.window_ns = int(window_ns)
        self.step_ns = int(step_ns)
        self.clear()

    def clear(self) -> None:
        self._stamps: list[int] = []
        self._states: list[PastState] = []
        self._anc: list[np.ndarray] = []

    @property
    def oldest_ns(self) -> int | None:
        return self._stamps[0] if self._stamps else None

    def push(self, stamp_ns: int, p: Particles) -> None:
        """Record ``p`` at ``stamp_ns`` (skipped within ``step_ns`` of the last snapshot)."""
        if self._stamps and stamp_ns - self._stamps[-1] < self.step_ns:
            return
        self._stamps.append(int(stamp_ns))
        self._states.append(PastState(p.xy_enu_m.copy(), p.bias_enu_m.copy(), p.yaw_rad.copy()))
        self._anc.append(np.arange(p.size))
        # keep one snapshot at or before the window start, so the whole window interpolates
        while len(self._stamps) > 1 and self._stamps[1] <= stamp_ns - self.window_ns:
            del self._stamps[0], self._states[0], self._anc[0]

    def on_resample(self, idx: np.ndarray) -> None:
        """Follow resampling: the new particle ``i`` descends from the old ``idx[i]``."""
        self._anc = [a[idx] for a in self._anc]

    def state_at(self, stamp_ns: int, now_ns: int, live: Particles) -> PastState | None:
        """States of the live particles at ``stamp_ns`` (linear between snapshots), or None
        when the stamp is before the oldest snapshot or after ``now_ns``."""
        if not self._stamps or stamp_ns < self._stamps[0] or stamp_ns > now_ns:
            return None
        k = int(np.searchsorted(self._stamps, stamp_ns, side='right')) - 1
        a = self._row(k)
        if k + 1 < len(self._stamps):
            b, t1 = self._row(k + 1), self._stamps[k + 1]
        else:
            b, t1 = PastState(live.xy_enu_m, live.bias_enu_m, live.yaw_rad), now_ns
        t0 = self._stamps[k]
        f = 0.0 if t1 <= t0 else (stamp_ns - t0) / (t1 - t0)
        return PastState(
            a.xy_enu_m + f * (b.xy_enu_m - a.xy_enu_m),
            a.bias_enu_m + f * (b.bias_enu_m - a.bias_enu_m),
            wrap_angle(a.yaw_rad + f * wrap_angle(b.yaw_rad - a.yaw_rad)),
        )

    def _row(self, k: int) -> PastState:
        s, anc = self._states[k], self._anc[k]
        return PastState(s.xy_enu_m[anc], s.bias_enu_m[anc], s.yaw_rad[anc])
