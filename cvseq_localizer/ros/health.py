"""Per-input rate and stamp checks of the node (camera, GNSS, odometry), rclpy-free."""

from __future__ import annotations

import math
from typing import Any

from cvseq_localizer.ros.diagnostics import Status
from cvseq_localizer.ros.rate_checks import FrequencyStatus, TimeStampStatus

INPUTS = {'image': 'camera', 'fix': 'gnss', 'odom': 'odometry'}


class InputHealth:
    """A :class:`FrequencyStatus` and a :class:`TimeStampStatus` per input.

    Args:
        settings: the node settings (``*_expected_hz``, ``rate_tolerance``,
            ``max_stamp_delay_s``).
        prefix: status name prefix (the node's name).
        with_odometry: also check the odometry input.
    """

    def __init__(self, settings: Any, prefix: str, with_odometry: bool) -> None:
        self.frequency: dict[str, FrequencyStatus] = {}
        self.stamps: dict[str, TimeStampStatus] = {}
        for key, label in INPUTS.items():
            if key == 'odom' and not with_odometry:
                continue
            hz = float(getattr(settings, f'{key}_expected_hz'))
            self.frequency[key] = FrequencyStatus(
                f'{prefix}: {label} frequency', hz, hz if hz > 0 else math.inf,
                settings.rate_tolerance,
            )  # fmt: skip
            self.stamps[key] = TimeStampStatus(
                f'{prefix}: {label} timestamps', -1.0, settings.max_stamp_delay_s
            )

    def tick(self, key: str, stamp_ns: int, now_ns: int) -> None:
        """A message of input ``key`` stamped ``stamp_ns`` arrived at ``now_ns`` (node clock)."""
        if key in self.frequency:
            self.frequency[key].tick()
            self.stamps[key].tick(stamp_ns, now_ns)

    def run(self, now_ns: int) -> list[Status]:
        out = []
        for key in self.frequency:
            out += [self.frequency[key].run(now_ns), self.stamps[key].run()]
        return out
