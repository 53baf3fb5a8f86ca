"""FrequencyStatus / TimeStampStatus keep diagnostic_updater's levels and messages."""

import math

from cvseq_localizer.ros.diagnostics import ERROR, OK, WARN, NodeCounters, collect_statuses
from cvseq_localizer.ros.rate_checks import FrequencyStatus, TimeStampStatus
from cvseq_localizer.types import LocalizerHealth

S = 10**9


def _run_at_rate(status, hz: float, periods: int, start_s: float = 0.0):
    """Tick ``hz`` per second for ``periods`` one-second diagnostic periods."""
    out = None
    for k in range(periods):
        for _ in range(int(hz)):
            status.tick()
        out = status.run(int((start_s + k + 1) * S))
    return out


def test_frequency_status_levels():
    status = FrequencyStatus('cam', 10.0, 10.0, 0.1, window_size=3)
    status.run(0)
    assert _run_at_rate(status, 10, 4).message == 'Desired frequency met'
    low = _run_at_rate(status, 5, 4, 4.0)
    assert (low.level, low.message) == (WARN, 'Frequency too low.')
    assert float(low.values['Actual frequency (Hz)']) == 5.0
    high = _run_at_rate(status, 20, 4, 8.0)
    assert (high.level, high.message) == (WARN, 'Frequency too high.')
    silent = _run_at_rate(status, 0, 4, 12.0)
    assert (silent.level, silent.message) == (ERROR, 'No events recorded.')
    back = _run_at_rate(status, 10, 4, 16.0)
    assert back.level == OK


def test_frequency_status_any_rate_only_flags_silence():
    status = FrequencyStatus('gnss')
    status.run(0)
    assert _run_at_rate(status, 1, 2).level == OK
    assert _run_at_rate(status, 50, 2, 2.0).level == OK
    assert _run_at_rate(status, 0, 6, 4.0).level == ERROR


def test_timestamp_status_levels_and_reset_per_update():
    status = TimeStampStatus('cam', -1.0, 5.0)
    assert (status.run().level, status.run().message) == (WARN, 'No data since last update.')
    status.tick(10 * S, 10 * S + S // 2)
    ok = status.run()
    assert ok.level == OK and float(ok.values['Latest timestamp delay']) == 0.5
    status.tick(10 * S, 20 * S)  # 10 s old
    late = status.run()
    assert (late.level, late.message) == (ERROR, 'Timestamps too far in past seen.')
    assert late.values['Late diagnostic update count'] == 1
    status.tick(30 * S, 20 * S)  # 10 s in the future
    assert status.run().message == 'Timestamps too far in future seen.'
    status.tick(0, 20 * S)
    assert status.run().message == 'Zero timestamp seen.'
    status.tick(20 * S, 20 * S)
    assert status.run().level == OK  # forgotten after each update


def test_latency_status_reports_header_stamp_latency_by_source():
    counters = NodeCounters()
    health = LocalizerHealth(network_enabled=False, filter_initialized=False)
    names = {s.name: s for s in collect_statuses(health, counters, 0, 'my_node')}
    assert set(names) >= {'my_node: latency', 'my_node: inputs', 'my_node: filter'}
    assert names['my_node: latency'].level == 3  # STALE
    est = None
    counters.published(est, 0.120)
    counters.published(est, 0.004, gnss_only=True)
    latency = {s.name: s for s in collect_statuses(health, counters, 0, 'my_node')}[
        'my_node: latency'
    ]
    assert latency.level == OK
    assert latency.values['latency_p50_ms'] == '120.0'
    assert latency.values['gnss_only_latency_p50_ms'] == '4.0'
    assert not math.isnan(float(latency.values['latency_max_ms']))
