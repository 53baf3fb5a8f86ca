"""Diagnostics read the Localizer's health() snapshot (no rclpy needed)."""

import numpy as np

from cvseq_localizer.localizer import Localizer, LocalizerConfig
from cvseq_localizer.ros.diagnostics import OK, WARN, NodeCounters, collect_statuses
from cvseq_localizer.types import COVARIANCE_TYPE_DIAGONAL_KNOWN, GnssFix


def _statuses(localizer, counters):
    return {s.name.split(': ')[1]: s for s in collect_statuses(localizer.health(), counters, 3)}


def test_gnss_only_localizer_reports_no_network_and_filter_state():
    loc = Localizer(LocalizerConfig(datum_min_fixes=1), None, None, np.random.default_rng(0))
    counters = NodeCounters()
    before = _statuses(loc, counters)
    assert before['model'].level == WARN and 'GNSS-only' in before['model'].message
    assert before['tile service'].level == WARN and before['filter'].level == WARN
    fix = GnssFix(0, 49.0, 8.4, 0.0, np.diag([4.0, 4.0, 9.0]), COVARIANCE_TYPE_DIAGONAL_KNOWN)
    est = loc.on_gnss(fix).estimate
    loc.on_gnss(GnssFix(1, float('nan'), 8.4))
    counters.published(est, 0.01)
    after = _statuses(loc, counters)
    assert after['filter'].level == OK and after['filter'].values['fixes_accepted'] == 1
    assert after['inputs'].values['unusable_fixes'] == 1
    assert after['inputs'].values['dropped_frames'] == 3
