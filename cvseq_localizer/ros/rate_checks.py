"""Per-input frequency and stamp-staleness checks with diagnostic_updater's semantics.

``diagnostic_updater`` (ROS 2 Python) is not in this project's wheels, so its two standard tasks
are re-implemented here, keeping their levels, messages and value keys so that dashboards and
aggregators written for them read ours the same way (rclpy-free, time passed in as ns):

- :class:`FrequencyStatus` (``FrequencyStatus`` + ``FrequencyStatusParam``): ``tick()`` per
  message; each ``run(now_ns)`` keeps a window of ``window_size`` (time, count) samples; no
  event in the window -> ERROR "No events recorded.", below ``min_hz * (1 - tolerance)`` ->
  WARN "Frequency too low.", above ``max_hz * (1 + tolerance)`` -> WARN "Frequency too high.",
  else OK "Desired frequency met".
- :class:`TimeStampStatus` (``TimeStampStatus`` + ``TimeStampStatusParam``): ``tick(stamp_ns,
  now_ns)`` records the delay ``now - stamp``; each ``run()`` reports and resets: no data ->
  WARN "No data since last update.", a delay above ``max_acceptable_s`` -> ERROR "Timestamps too
  far in past seen.", below ``min_acceptable_s`` -> ERROR "Timestamps too far in future seen.",
  a zero stamp -> ERROR "Zero timestamp seen.", else OK "Timestamps are reasonable.".
"""

from __future__ import annotations

import math
import threading
from collections import deque

from cvseq_localizer.ros.diagnostics import ERROR, OK, WARN, Status


class FrequencyStatus:
    """Message rate over the last ``window_size`` diagnostic updates.

    Args:
        name: status name.
        min_hz, max_hz: acceptable rate (0 and inf = any rate, only silence is an error).
        tolerance: relative slack on both bounds.
        window_size: diagnostic updates the rate is averaged over.
    """

    def __init__(
        self,
        name: str,
        min_hz: float = 0.0,
        max_hz: float = math.inf,
        tolerance: float = 0.1,
        window_size: int = 5,
    ) -> None:
        self.name, self.min_hz, self.max_hz, self.tolerance = name, min_hz, max_hz, tolerance
        self._lock = threading.Lock()
        self._count = 0
        self._window: deque[tuple[int, int]] = deque(maxlen=max(2, window_size))

    def tick(self) -> None:
        """One message arrived (any thread)."""
        with self._lock:
            self._count += 1

    def run(self, now_ns: int) -> Status:
        """The status at ``now_ns`` (node clock) and a new sample in the window."""
        with self._lock:
            count = self._count
            if not self._window:
                self._window.append((now_ns, count))
            t0, c0 = self._window[0]
            self._window.append((now_ns, count))
        events, window_s = count - c0, (now_ns - t0) * 1e-9
        values = {
            'Events in window': events,
            'Events since startup': count,
            'Duration of window (s)': f'{window_s:.6f}',
        }
        freq = events / window_s if window_s > 0 else math.nan
        if math.isfinite(freq):
            values['Actual frequency (Hz)'] = f'{freq:.6f}'
        if self.min_hz > 0:
            values['Minimum acceptable frequency (Hz)'] = f'{self.min_hz * (1 - self.tolerance)}'
        if math.isfinite(self.max_hz):
            values['Maximum acceptable frequency (Hz)'] = f'{self.max_hz * (1 + self.tolerance)}'
        if events == 0:
            return Status(self.name, ERROR, 'No events recorded.', values)
        if math.isfinite(freq) and freq < self.min_hz * (1 - self.tolerance):
            return Status(self.name, WARN, 'Frequency too low.', values)
        if math.isfinite(freq) and freq > self.max_hz * (1 + self.tolerance):
            return Status(self.name, WARN, 'Frequency too high.', values)
        return Status(self.name, OK, 'Desired frequency met', values)


class TimeStampStatus:
    """Delay between the header stamps of an input and the node clock since the last update."""

    def __init__(
        self, name: str, min_acceptable_s: float = -1.0, max_acceptable_s: float = 5.0
    ) -> None:
        self.name, self.min_s, self.max_s = name, min_acceptable_s, max_acceptable_s
        self._lock = threading.Lock()
        self._late = self._early = self._zero = 0
        self._reset()

    def _reset(self) -> None:
        self._count, self._min_delay, self._max_delay = 0, math.inf, -math.inf
        self._zero_seen = self._late_seen = self._early_seen = False

    def tick(self, stamp_ns: int, now_ns: int) -> None:
        """A message stamped ``stamp_ns`` arrived at ``now_ns`` (any thread)."""
        with self._lock:
            if stamp_ns == 0:
                self._zero_seen = True
                return
            delay = (now_ns - stamp_ns) * 1e-9
            self._count += 1
            self._min_delay, self._max_delay = (
                min(self._min_delay, delay),
                max(self._max_delay, delay),
            )
            self._late_seen |= delay > self.max_s
            self._early_seen |= delay < self.min_s

    def run(self) -> Status:
        """The status of the messages since the previous ``run`` (then forgets them)."""
        with self._lock:
            self._late += self._late_seen
            self._early += self._early_seen
            self._zero += self._zero_seen
            values = {
                'Earliest acceptable timestamp delay': self.min_s,
                'Latest acceptable timestamp delay': self.max_s,
                'Late diagnostic update count': self._late,
                'Early diagnostic update count': self._early,
                'Zero seen diagnostic update count': self._zero,
            }
            if self._count:
                values['Earliest timestamp delay'] = f'{self._min_delay:.6f}'
                values['Latest timestamp delay'] = f'{self._max_delay:.6f}'
            level, message = OK, 'Timestamps are reasonable.'
            if not self._count and not self._zero_seen:
                level, message = WARN, 'No data since last update.'
            elif self._early_seen:
                level, message = ERROR, 'Timestamps too far in future seen.'
            elif self._late_seen:
                level, message = ERROR, 'Timestamps too far in past seen.'
            elif self._zero_seen:
                level, message = ERROR, 'Zero timestamp seen.'
            self._reset()
        return Status(self.name, level, message, values)
