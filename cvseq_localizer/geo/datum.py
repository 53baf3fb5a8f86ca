"""The automatic ENU datum: chosen from a consistent set of fixes, moved on a confirmed
relocation far away. Pure (no I/O, no clock: times are the fixes' stamps).

The first usable fix used to become the map origin forever, so a cold-start receiver reporting
(0, 0), a stray first fix on another continent, or ten seconds of fixes from elsewhere in the
middle of a drive ruined the run. ``DatumTracker`` instead:

* ignores fixes near (0, 0) ("null island", a cold-start receiver's placeholder);
* picks the datum only when ``min_fixes`` fixes within ``window_s`` agree (each within
  ``agree_m`` plus ``max_speed_mps`` times their time apart of the newest fix); the datum is
  their component-wise median;
* holds back a fix that is far (more than ``jump_m`` plus ``max_speed_mps`` times the time
  since the last accepted fix) from the last accepted fix: such fixes are collected, and only
  when they agree for ``relocate_s`` seconds is the relocation confirmed (the caller
  re-initialises its filter there, and an automatic datum moves there);
* moves an automatic datum when the caller re-initialises far (``recentre_m``) from it.

A fixed datum (``DatumTracker(fixed=(lat, lon, alt))``) never moves; the jump rule still applies.
Distances are great-circle (haversine on a 6371 km sphere: 0.5 % is plenty for thresholds).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

EARTH_RADIUS_M = 6_371_000.0
_MAX_HELD = 256  # far fixes kept while a relocation is being confirmed


@dataclass(frozen=True)
class DatumConfig:
    """Thresholds of ``DatumTracker`` (metres, seconds, metres per second, degrees)."""

    min_fixes: int = 5
    window_s: float = 10.0
    agree_m: float = 100.0
    max_speed_mps: float = 70.0
    jump_m: float = 2_000.0
    relocate_s: float = 15.0
    recentre_m: float = 20_000.0
    null_island_deg: float = 0.01

    def __post_init__(self) -> None:
        if self.min_fixes < 1 or min(self.window_s, self.agree_m, self.jump_m) <= 0:
            raise ValueError(f'DatumConfig needs min_fixes >= 1 and positive sizes: {self}')
        if min(self.max_speed_mps, self.relocate_s, self.recentre_m, self.null_island_deg) < 0:
            raise ValueError(f'DatumConfig values must not be negative: {self}')


@dataclass(frozen=True)
class Datum:
    """A datum position: degrees and ellipsoidal metres."""

    lat_deg: float
    lon_deg: float
    alt_m: float = 0.0


@dataclass(frozen=True)
class DatumDecision:
    """What the caller does with one fix.

    Attributes:
        datum: the datum to use (``None``: not chosen yet, do not initialise anything).
        use: feed this fix to the filter (in ``datum``'s frame).
        reinit: (re-)initialise the filter at this fix: the first fix with a datum, or a
            confirmed relocation.
        datum_changed: ``datum`` differs from the previous decision's (rebuild the ENU frame).
        reason: why the fix is held back or what happened (``''`` for an ordinary fix).
    """

    datum: Datum | None
    use: bool
    reinit: bool = False
    datum_changed: bool = False
    reason: str = ''


@dataclass
class _Fix:
    t_s: float
    lat: float
    lon: float
    alt: float


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two points in degrees (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2.0 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass
class DatumTracker:
    """Chooses and keeps the ENU datum from a stream of usable fixes (see the module doc).

    Feed every usable fix (``GnssFix.is_usable()``) to ``observe`` in arrival order; stamps may
    go backwards (the time tests use absolute differences).
    """

    config: DatumConfig = field(default_factory=DatumConfig)
    fixed: tuple[float, float, float] | None = None
    datum: Datum | None = None
    _recent: deque = field(default_factory=deque, repr=False)
    _far: list = field(default_factory=list, repr=False)
    _last: _Fix | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.fixed is not None:
            self.datum = Datum(*(float(v) for v in self.fixed))

    def observe(self, stamp_ns: int, lat_deg: float, lon_deg: float, alt_m: float = 0.0):
        """One usable fix -> :class:`DatumDecision`."""
        c = self.config
        fix = _Fix(stamp_ns * 1e-9, float(lat_deg), float(lon_deg), _finite(alt_m))
        if max(abs(fix.lat), abs(fix.lon)) < c.null_island_deg:
            return DatumDecision(self.datum, False, reason='null_island')
        if self._last is None:
            return self._acquire(fix)
        if self._distance(self._last, fix) <= self._reach(self._last, fix, c.jump_m):
            self._far.clear()
            self._last = fix
            return DatumDecision(self.datum, True)
        return self._far_fix(fix)

    def on_reinit(self, lat_deg: float, lon_deg: float, alt_m: float = 0.0) -> Datum | None:
        """The caller re-initialised its filter at a position: the new automatic datum if that
        is more than ``recentre_m`` from the current one, else ``None`` (keep the datum)."""
        if self.fixed is not None or self.datum is None:
            return None
        d = distance_m(self.datum.lat_deg, self.datum.lon_deg, lat_deg, lon_deg)
        if d <= self.config.recentre_m:
            return None
        self.datum = Datum(float(lat_deg), float(lon_deg), _finite(alt_m))
        return self.datum

    # ------------------------------------------------------------------------------ internal
    def _reach(self, a: _Fix, b: _Fix, base_m: float) -> float:
        return base_m + self.config.max_speed_mps * abs(b.t_s - a.t_s)

    @staticmethod
    def _distance(a: _Fix, b: _Fix) -> float:
        return distance_m(a.lat, a.lon, b.lat, b.lon)

    def _agreeing(self, fixes, newest: _Fix, window_s: float) -> list[_Fix]:
        """Fixes within ``window_s`` of ``newest`` that agree with it."""
        c = self.config
        return [
            f
            for f in fixes
            if abs(newest.t_s - f.t_s) <= window_s
            and self._distance(f, newest) <= self._reach(f, newest, c.agree_m)
        ]

    def _acquire(self, fix: _Fix) -> DatumDecision:
        """No fix accepted yet: wait for ``min_fixes`` agreeing ones."""
        self._recent.append(fix)
        while len(self._recent) > max(_MAX_HELD, 2 * self.config.min_fixes):
            self._recent.popleft()
        group = self._agreeing(self._recent, fix, self.config.window_s)
        if len(group) < self.config.min_fixes:
            return DatumDecision(self.datum, False, reason='acquiring')
        self._recent.clear()
        self._last = fix
        changed = self.datum is None
        if changed:
            self.datum = _median(group)
        return DatumDecision(self.datum, True, reinit=True, datum_changed=changed)

    def _far_fix(self, fix: _Fix) -> DatumDecision:
        """A fix far from the last accepted one: hold it until a relocation is confirmed."""
        c = self.config
        self._far.append(fix)
        window_s = c.relocate_s + c.window_s
        far = self._agreeing(self._far, fix, window_s)
        # Bounded: the oldest agreeing fix (it sets the span) and the newest ones.
        self._far = far if len(far) <= _MAX_HELD else [far[0], *far[-(_MAX_HELD - 1) :]]
        span_s = max(f.t_s for f in self._far) - min(f.t_s for f in self._far)
        if len(self._far) < c.min_fixes or span_s < c.relocate_s:
            return DatumDecision(self.datum, False, reason='far_jump')
        group, self._far = self._far, []
        self._last = fix
        if self.fixed is not None:
            return DatumDecision(self.datum, True, reinit=True, reason='relocated')
        self.datum = _median(group)
        return DatumDecision(self.datum, True, reinit=True, datum_changed=True, reason='relocated')


def _median(fixes: list[_Fix]) -> Datum:
    """Component-wise median (the fixes agree within kilometres: no antimeridian averaging)."""

    def med(values: list[float]) -> float:
        values = sorted(values)
        mid = len(values) // 2
        return values[mid] if len(values) % 2 else 0.5 * (values[mid - 1] + values[mid])

    return Datum(
        med([f.lat for f in fixes]), med([f.lon for f in fixes]), med([f.alt for f in fixes])
    )


def _finite(value: float) -> float:
    return float(value) if math.isfinite(value) else 0.0
