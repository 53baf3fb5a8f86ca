"""Rate-limited logging shared by the core (filter, tiles, localizer)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class WarnThrottle:
    """Logs each kind (``key``) of warning at most once per ``period_s``.

    ``clock`` returns seconds (monotonic by default); tests pass a fake clock.
    """

    logger: logging.Logger
    period_s: float = 5.0
    clock: Callable[[], float] = time.monotonic
    _last: dict[str, float] = field(default_factory=dict)

    def warn(self, key: str, msg: str, *args: object) -> bool:
        """Log ``msg % args`` unless ``key`` was logged within ``period_s``; True if logged."""
        now = self.clock()
        last = self._last.get(key)
        if last is None or now - last >= self.period_s:
            self._last[key] = now
            self.logger.warning(msg, *args)
            return True
        return False
