"""Health of the running localizer as diagnostic status records (no rclpy here).

:class:`NodeCounters` is what the node counts itself (inputs, drops, latency);
:func:`collect_statuses` combines it with the Localizer's ``health()`` snapshot into
:class:`Status` records that ``conversions.diagnostics_to_msg`` turns into a DiagnosticArray.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cvseq_localizer.filter import max_sigma_m
from cvseq_localizer.types import Estimate, LocalizerHealth

OK, WARN, ERROR, STALE = 0, 1, 2, 3
PREFIX = 'cvseq_localizer'


@dataclass
class Status:
    """One ``diagnostic_msgs/DiagnosticStatus`` worth of information."""

    name: str
    level: int
    message: str
    values: dict[str, Any] = field(default_factory=dict)


class NodeCounters:
    """Thread-safe counters of the node's inputs and outputs (callbacks and worker update them)."""

    def __init__(self, latency_window: int = 200) -> None:
        self._lock = threading.Lock()
        self.images = 0
        self.fixes = 0
        self.poses = 0
        self.odometry = 0
        self.gnss_only_poses = 0
        self.initial_poses = 0
        self.resets = 0
        self.bad_images: Counter = Counter()  # reason -> count
        self.bad_fixes: Counter = Counter()
        self.bad_odometry: Counter = Counter()
        self.not_published = 0  # non-finite estimates withheld
        self.inference_errors = 0
        self.latency_s: deque[float] = deque(maxlen=latency_window)  # camera poses
        self.gnss_latency_s: deque[float] = deque(maxlen=latency_window)  # GNSS-only poses
        self.last_estimate: Estimate | None = None

    def count(self, name: str, reason: str | None = None) -> None:
        """``count('bad_images', 'empty')`` or ``count('images')``."""
        with self._lock:
            if reason is None:
                setattr(self, name, getattr(self, name) + 1)
            else:
                getattr(self, name)[reason] += 1

    def published(self, est: Estimate, latency_s: float, gnss_only: bool = False) -> None:
        """A pose went out ``latency_s`` after its header stamp (node clock - stamp)."""
        with self._lock:
            self.poses += 1
            (self.gnss_latency_s if gnss_only else self.latency_s).append(latency_s)
            self.last_estimate = est

    def latency_ms(self, gnss_only: bool = False) -> tuple[float, float]:
        """(p50, max) of the recent header stamp -> publish latencies, ms (NaN before any)."""
        with self._lock:
            lat = np.asarray(self.gnss_latency_s if gnss_only else self.latency_s, np.float64)
        if lat.size == 0:
            return math.nan, math.nan
        return float(np.percentile(lat, 50) * 1e3), float(lat.max() * 1e3)


def collect_statuses(
    health: LocalizerHealth, counters: NodeCounters, dropped: int, prefix: str = PREFIX
) -> list[Status]:
    """Model, tile service, filter, inputs and latency statuses of a running node, named
    ``'<prefix>: <what>'`` (the node's name)."""
    statuses = [
        _model(health),
        _tiles(health),
        _filter(health, counters.last_estimate),
        _inputs(health, counters, dropped),
        _latency(counters),
    ]
    for s in statuses:
        s.name = s.name.replace(PREFIX, prefix, 1)
    return statuses


def _model(h: LocalizerHealth) -> Status:
    if not h.network_enabled:
        return Status(f'{PREFIX}: model', WARN, 'no network: GNSS-only filter')
    return Status(f'{PREFIX}: model', OK, 'loaded', dict(h.engine_info))


def _tiles(h: LocalizerHealth) -> Status:
    values: dict[str, Any] = {
        'tiles_encoded': h.tiles_encoded,
        'frames_with_network': h.frames_with_network,
        'frames_without_tile': h.frames_without_tile,
        'last_reason': h.last_tile_reason or '-',
    }
    if h.tiles is None:
        return Status(f'{PREFIX}: tile service', WARN, 'no tile source', values)
    if dataclasses.is_dataclass(h.tiles):
        values.update(dataclasses.asdict(h.tiles))
    if h.frames_without_tile and not h.frames_with_network:
        return Status(f'{PREFIX}: tile service', ERROR, 'no tile available yet', values)
    level = WARN if h.frames_without_tile else OK
    return Status(f'{PREFIX}: tile service', level, 'serving tiles', values)


def _filter(h: LocalizerHealth, est: Estimate | None) -> Status:
    values: dict[str, Any] = {
        'fixes_accepted': h.fixes_accepted,
        'fixes_rejected': h.fixes_rejected,
        'grids_used': h.grids_used,
        'resamples': h.resamples,
        'reinitializations': h.reinitializations,
        'last_reinit_reason': h.last_reinit_reason or '-',
    }
    name = f'{PREFIX}: filter'
    if not h.filter_initialized or est is None:
        return Status(name, WARN, 'waiting for a usable GNSS fix', values)
    std = max_sigma_m(est.cov_xy_m2)
    values.update({'position_std_m': f'{std:.2f}', 'ess': f'{est.ess:.0f}',
                   'speed_mps': f'{est.speed_mps:.2f}', 'gnss_only': est.gnss_only})  # fmt: skip
    if est.diverged:
        return Status(name, WARN, 'diverged: re-initialised from GNSS', values)
    return Status(name, OK, 'gnss-only' if est.gnss_only else 'fusing network and GNSS', values)


def _inputs(h: LocalizerHealth, c: NodeCounters, dropped: int) -> Status:
    values: dict[str, Any] = {
        'images': c.images,
        'fixes': c.fixes,
        'poses': c.poses,
        'dropped_frames': dropped,
        'rejected_fixes': h.fixes_rejected,
        'unusable_fixes': h.fixes_unusable,
        'non_finite_estimates': c.not_published,
        'inference_errors': c.inference_errors,
        'odometry': c.odometry,
        'gnss_only_poses': c.gnss_only_poses,
        'initial_poses': c.initial_poses,
        'resets': c.resets,
    }
    values.update({f'bad_image_{k}': v for k, v in sorted(c.bad_images.items())})
    values.update({f'bad_fix_{k}': v for k, v in sorted(c.bad_fixes.items())})
    values.update({f'bad_odometry_{k}': v for k, v in sorted(c.bad_odometry.items())})
    # Frames the Localizer did not run the network on, by reason (bad_frame, no_camera, ...).
    values.update({f'skipped_frames_{k}': v for k, v in sorted(h.frames_skipped.items())})
    bad = sum(c.bad_images.values()) + sum(c.bad_fixes.values()) + c.inference_errors
    bad += sum(c.bad_odometry.values())
    level = WARN if bad or c.not_published else OK
    message = f'{bad} malformed input(s), {dropped} dropped frame(s)' if bad else 'inputs ok'
    return Status(f'{PREFIX}: inputs', level, message, values)


def _latency(c: NodeCounters) -> Status:
    """Header stamp -> publish latency (node clock), camera and GNSS-only poses apart."""
    p50, worst = c.latency_ms()
    g50, gworst = c.latency_ms(gnss_only=True)
    values = {'source': 'node clock now - header stamp of the input'}
    for key, v in (
        ('latency_p50_ms', p50),
        ('latency_max_ms', worst),
        ('gnss_only_latency_p50_ms', g50),
        ('gnss_only_latency_max_ms', gworst),
    ):
        values[key] = '-' if math.isnan(v) else f'{v:.1f}'  # fmt: skip
    if math.isnan(p50) and math.isnan(g50):
        return Status(f'{PREFIX}: latency', STALE, 'no pose published yet', values)
    text = f'p50 {p50:.0f} ms' if not math.isnan(p50) else f'GNSS-only p50 {g50:.0f} ms'
    return Status(f'{PREFIX}: latency', OK, text, values)
