"""Where a stamp falls relative to the filter time: in order, late, too late, a clock jump or
from the future; and which stamps were already used (duplicates)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from cvseq_localizer.filter.config import FilterConfig

FRESH = 'fresh'  # at or after the filter time: predict to it
LATE = 'late'  # behind the filter time, inside the history: fuse at the stamp
TOO_LATE = 'too late'  # behind the history, but no clock jump: ignore
JUMP_BACK = 'jump back'  # far behind: the clock jumped back, reset
FUTURE = 'future'  # far ahead: ignore (a stray stamp)
JUMP_FORWARD = 'jump forward'  # far ahead, several times in a row: the clock jumped, reset


@dataclass
class StampClock:
    """Classifies stamps (ns); counts consecutive future stamps."""

    future_count: int = 0

    def classify(self, stamp_ns: int, filter_ns: int, config: FilterConfig) -> str:
        dt_s = (stamp_ns - filter_ns) * 1e-9
        if dt_s > config.max_future_s:
            self.future_count += 1
            if self.future_count >= max(config.future_streak, 1):
                self.future_count = 0
                return JUMP_FORWARD
            return FUTURE
        self.future_count = 0
        if dt_s >= 0.0:
            return FRESH
        if -dt_s <= config.history_s:
            return LATE
        if -dt_s <= config.clock_jump_s:
            return TOO_LATE
        return JUMP_BACK


@dataclass
class RecentStamps:
    """Stamps used per input kind within a window (ns), to spot duplicated messages."""

    window_ns: int
    _seen: dict[str, deque] = field(default_factory=dict)

    def seen(self, kind: str, stamp_ns: int) -> bool:
        """True if ``stamp_ns`` was already recorded for ``kind``; records it otherwise."""
        q = self._seen.setdefault(kind, deque())
        if stamp_ns in q:
            return True
        q.append(stamp_ns)
        newest = max(q[-1], stamp_ns)
        while q and q[0] < newest - self.window_ns:
            q.popleft()
        if len(q) > 4096:  # bounded even for a stream of ever older stamps
            q.popleft()
        return False

    def clear(self) -> None:
        self._seen.clear()
