"""``FixTrack``: the GNSS fix stream segmented at jumps, so multipath episodes are recognised
before they reach the particles.

A multipath episode is a jump of the fix track (10-35 m from one epoch to the next), a hold,
and a jump back; a vehicle cannot jump. The track runs a constant-velocity Kalman filter on the
fixes themselves (independent of the particle filter, so a particle cloud that went wrong
cannot bias it). A fix far outside the track's prediction (``jump_n_sigma`` and at least
``jump_min_m``) opens a *suspect* segment with its own Kalman filter; later fixes go to
whichever segment predicts them: a fix back on the confirmed track ends the episode (the suspect
fixes were multipath), and a suspect segment that lasts ``confirm_s`` becomes the confirmed track
(a genuine jump, e.g. the first fixes were the multipath ones). The particle filter rejects
suspect fixes, and it re-initialises on a promotion or a divergence with the confirmed track's
velocity (``velocity``), not with an unknown heading.

Hand-written: a 4-state constant-velocity Kalman filter is a few lines of numpy; filterpy is
unmaintained and would add a dependency for two matrix products.

After a gap of ``gap_reset_s`` without fixes (a dropout) the track starts afresh at the next
fix, with an unknown velocity: a constant-velocity prediction over a long gap is meaningless
(the vehicle may have stopped or turned), and one update after it turned the velocity into
nonsense (development drive urban 9035: 18 m/s for a vehicle at rest, then 8 s of good fixes
rejected as a jump). For ``young_s`` after such a restart the track has no history to judge a
jump against: a fix far from it restarts it there (``PROMOTED``: the particle filter re-anchors)
instead of opening a suspect segment, so the latest consistent fixes win (on 9035 the first
1.2 s of fixes after the dropout were 30 m of multipath).

The scale of the white noise comes from the recent innovations (median norm, robust to the
multipath that is rejected), not from the reported covariance, which the simulator and real
receivers get wrong by a factor of 2 either way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

CONFIRMED = 'confirmed'  # on the confirmed track (or the first fix)
SUSPECT = 'suspect'  # inside a suspect segment (a jump not yet explained)
PROMOTED = 'promoted'  # the suspect segment lasted confirm_s: it is the track now
RETURNED = 'returned'  # back on the confirmed track after a suspect episode


@dataclass
class _Segment:
    """A constant-velocity Kalman filter on fixes: state (e, n, ve, vn), ENU m and m/s."""

    x: np.ndarray
    p: np.ndarray
    stamp_ns: int
    first_ns: int
    count: int = 1

    @classmethod
    def start(cls, stamp_ns: int, xy: np.ndarray, sigma_m: float, speed_std_mps: float):
        p = np.diag([sigma_m**2, sigma_m**2, speed_std_mps**2, speed_std_mps**2])
        return cls(np.array([xy[0], xy[1], 0.0, 0.0]), p, int(stamp_ns), int(stamp_ns))

    def predicted(self, stamp_ns: int, accel_mps2: float) -> tuple[np.ndarray, np.ndarray]:
        dt = max(stamp_ns - self.stamp_ns, 0) * 1e-9
        f = np.eye(4)
        f[0, 2] = f[1, 3] = dt
        q1 = accel_mps2**2 * np.array([[dt**3 / 3, dt**2 / 2], [dt**2 / 2, dt]])
        q = np.zeros((4, 4))
        q[np.ix_([0, 2], [0, 2])] = q1
        q[np.ix_([1, 3], [1, 3])] = q1
        return f @ self.x, f @ self.p @ f.T + q

    def innovation(self, stamp_ns: int, xy: np.ndarray, r_m2: float, accel_mps2: float):
        """``(residual (2,), Mahalanobis^2, log-likelihood)`` of a fix."""
        x, p = self.predicted(stamp_ns, accel_mps2)
        s = p[:2, :2] + np.eye(2) * r_m2
        d = xy - x[:2]
        maha = float(d @ np.linalg.solve(s, d))
        return d, maha, -0.5 * maha - 0.5 * math.log(max(float(np.linalg.det(s)), 1e-300))

    def update(self, stamp_ns: int, xy: np.ndarray, r_m2: float, accel_mps2: float) -> None:
        x, p = self.predicted(stamp_ns, accel_mps2)
        s = p[:2, :2] + np.eye(2) * r_m2
        k = p[:, :2] @ np.linalg.inv(s)
        self.x = x + k @ (xy - x[:2])
        self.p = (np.eye(4) - k[:, :2] @ np.eye(2, 4)) @ p
        self.p = 0.5 * (self.p + self.p.T)
        self.stamp_ns = int(stamp_ns)
        self.count += 1


@dataclass
class FixTrack:
    """Segments the fix stream at jumps (see the module docstring).

    Attributes:
        jump_min_m: a fix is a jump only when its innovation exceeds this, m.
        jump_n_sigma: ... and this many standard deviations of the innovation.
        confirm_s: a suspect segment lasting this long becomes the confirmed track, s.
        accel_mps2: white acceleration density of the track's motion model, m/s^2 per sqrt(Hz).
        min_sigma_m: floor of the white-noise scale, m.
        gap_reset_s: a gap between fixes longer than this restarts the track, s.
        young_s: for this long after that restart a jump restarts the track again (not split), s.
    """

    jump_min_m: float = 6.0
    jump_n_sigma: float = 5.0
    confirm_s: float = 8.0
    accel_mps2: float = 1.5
    min_sigma_m: float = 0.3
    window: int = 50
    gap_reset_s: float = 3.0
    young_s: float = 3.0
    _young_until_ns: int = -1
    _last_ns: int = -1  # the newest fix of any segment
    _track: _Segment | None = None
    _suspect: _Segment | None = None
    _norms: list[float] = field(default_factory=list)

    def reset(self) -> None:
        self._track = self._suspect = None
        self._norms, self._young_until_ns = [], -1

    @property
    def in_episode(self) -> bool:
        """A suspect segment is open."""
        return self._suspect is not None

    def sigma_m(self, reported_sigma_m: float) -> float:
        """White-noise std per axis, m: median innovation norm (``sqrt(2 ln 2) sigma`` for a
        2-D Gaussian) once 10 fixes are in, the reported sigma before."""
        if len(self._norms) < 10:
            return max(reported_sigma_m, self.min_sigma_m)
        return max(float(np.median(self._norms)) / math.sqrt(2.0 * math.log(2.0)),
                   self.min_sigma_m)  # fmt: skip

    def velocity(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The confirmed track's velocity ``(2,)`` ENU m/s and its covariance ``(2, 2)``."""
        if self._track is None or self._track.count < 3:
            return None
        return self._track.x[2:].copy(), self._track.p[2:, 2:].copy()

    def heading(self, min_speed_mps: float) -> tuple[float, float, int] | None:
        """``(yaw rad, std rad, stamp ns)`` of the confirmed track's velocity (REP-103) while
        it moves faster than ``min_speed_mps``; the std is the velocity's cross-track std over
        the speed."""
        vel = self.velocity()
        if vel is None:
            return None
        v, cov = vel
        speed = float(np.hypot(*v))
        if speed < min_speed_mps:
            return None
        across = np.array([-v[1], v[0]]) / speed
        std = math.sqrt(max(float(across @ cov @ across), 0.0)) / speed
        return math.atan2(v[1], v[0]), std, self._track.stamp_ns

    def add(self, stamp_ns: int, xy_enu_m: np.ndarray, reported_sigma_m: float) -> str:
        """Classify one fix (in stamp order; an older stamp is classified, not tracked)."""
        xy = np.asarray(xy_enu_m, np.float64)
        stamp_ns = int(stamp_ns)
        sigma = self.sigma_m(reported_sigma_m)
        r2 = sigma**2
        if self._track is None:
            self._last_ns = stamp_ns
            return self._restart(stamp_ns, xy, sigma, CONFIRMED)
        if stamp_ns <= self._track.stamp_ns:
            return CONFIRMED  # late or duplicated: the particle filter decides
        gap_s, self._last_ns = (stamp_ns - self._last_ns) * 1e-9, max(self._last_ns, stamp_ns)
        if gap_s > self.gap_reset_s:
            self._young_until_ns = stamp_ns + int(self.young_s * 1e9)
            return self._restart(stamp_ns, xy, sigma, CONFIRMED)
        d, maha, loglik = self._track.innovation(stamp_ns, xy, r2, self.accel_mps2)
        on_track = not self._is_jump(d, maha)
        if self._suspect is not None:
            ds, maha_s, loglik_s = self._suspect.innovation(stamp_ns, xy, r2, self.accel_mps2)
            on_suspect = not self._is_jump(ds, maha_s)
            # the segment that explains the fix better takes it (the confirmed track's
            # prediction widens while it gets no fixes, the suspect's stays sharp)
            if on_suspect and (not on_track or loglik_s > loglik):
                self._suspect.update(stamp_ns, xy, r2, self.accel_mps2)
                if (stamp_ns - self._suspect.first_ns) * 1e-9 >= self.confirm_s:
                    self._track, self._suspect = self._suspect, None
                    return PROMOTED
                return SUSPECT
        if on_track:
            was_episode = self._suspect is not None
            self._suspect = None
            self._norms.append(float(np.hypot(*d)))
            del self._norms[: -self.window]
            self._track.update(stamp_ns, xy, r2, self.accel_mps2)
            return RETURNED if was_episode else CONFIRMED
        if stamp_ns <= self._young_until_ns:
            return self._restart(stamp_ns, xy, sigma, PROMOTED)
        # a new jump: a new suspect segment starting with the confirmed track's velocity
        seg = _Segment.start(stamp_ns, xy, sigma, 10.0)
        x, p = self._track.predicted(stamp_ns, self.accel_mps2)
        seg.x[2:], seg.p[2:, 2:] = x[2:], p[2:, 2:] + np.eye(2) * 4.0
        self._suspect = seg
        return SUSPECT

    def _restart(self, stamp_ns: int, xy: np.ndarray, sigma: float, label: str) -> str:
        """A fresh track at this fix (unknown velocity); any suspect segment is dropped."""
        self._track = _Segment.start(stamp_ns, xy, sigma, 10.0)
        self._suspect = None
        return label

    def _is_jump(self, d: np.ndarray, maha: float) -> bool:
        return float(np.hypot(*d)) > self.jump_min_m and maha > self.jump_n_sigma**2
