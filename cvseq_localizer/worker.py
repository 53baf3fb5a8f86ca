"""Latest-frame-wins inference worker: a one-slot mailbox served by one thread.

When camera frames arrive faster than inference runs, the frame waiting in the slot is replaced
by the newer one and counted as dropped; callbacks that submit frames never block.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class LatestFrameWorker:
    """Run ``process(stamp_ns, frame)`` on a background thread, newest frame first.

    Args:
        process: the work; its return value goes to ``on_result`` (skipped when ``None``).
        on_result: called on the worker thread with each result.
        on_error: called with the exception when ``process`` raises (the worker keeps running).
    """

    def __init__(
        self,
        process: Callable[[int, Any], Any],
        on_result: Callable[[Any], None],
        on_error: Callable[[BaseException], None] | None = None,
        name: str = 'cvseq-inference',
    ) -> None:
        self._process = process
        self._on_result = on_result
        self._on_error = on_error or (lambda exc: log.exception('inference failed', exc_info=exc))
        self._cond = threading.Condition()
        self._pending: tuple[int, Any] | None = None
        self._closed = False
        self._busy = False
        self.submitted = 0
        self.dropped = 0
        self.processed = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, stamp_ns: int, frame: Any) -> None:
        """Queue a frame, replacing (and counting as dropped) any frame still waiting."""
        with self._cond:
            if self._closed:
                return
            self.submitted += 1
            if self._pending is not None:
                self.dropped += 1
            self._pending = (stamp_ns, frame)
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                stamp_ns, frame = self._pending
                self._pending = None
                self._busy = True
            try:
                result = self._process(stamp_ns, frame)
                if result is not None:
                    self._on_result(result)
            except Exception as exc:  # keep serving frames; the caller decides how to report
                self._on_error(exc)
            finally:
                with self._cond:
                    self.processed += 1
                    self._busy = False
                    self._cond.notify_all()

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Block until no frame is pending or running (tests, clean shutdown)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._pending is None and not self._busy, timeout=timeout_s
            )

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the thread (a frame being processed finishes first)."""
        with self._cond:
            self._closed = True
            self._pending = None
            self._cond.notify_all()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.warning('inference thread did not stop within %.1f s', timeout_s)
