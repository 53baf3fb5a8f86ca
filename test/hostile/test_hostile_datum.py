"""The automatic datum: from a consistent set of fixes, moved only by a confirmed relocation."""

import numpy as np
import pytest

from cvseq_localizer.geo.datum import DatumConfig, DatumTracker, distance_m

KARLSRUHE = (49.0094, 8.4044)
NEW_YORK = (40.7128, -74.0060)
SYDNEY = (-33.8688, 151.2093)
HZ = 10


def drive(start_s, seconds, origin, rng, speed_mps=15.0, noise_m=2.0):
    """``(stamp_ns, lat, lon)`` fixes at 10 Hz of a car driving east from ``origin``."""
    out = []
    lat0, lon0 = origin
    m_per_deg_lon = 111_320.0 * np.cos(np.radians(lat0))
    for i in range(int(seconds * HZ)):
        t = start_s + i / HZ
        east = speed_mps * (t - start_s) + rng.normal(0, noise_m)
        north = rng.normal(0, noise_m)
        out.append((int(t * 1e9), lat0 + north / 111_320.0, lon0 + east / m_per_deg_lon))
    return out


def run(tracker, fixes):
    return [tracker.observe(stamp, lat, lon) for stamp, lat, lon in fixes]


def datum_error_m(tracker, place):
    return distance_m(tracker.datum.lat_deg, tracker.datum.lon_deg, *place)


def test_cold_start_fixes_at_null_island_never_become_the_datum():
    rng = np.random.default_rng(1)
    tracker = DatumTracker()
    cold = [(int(i * 1e8), 0.0, 0.0) for i in range(50)]  # 5 s of (0, 0) with status FIX
    decisions = run(tracker, cold)
    assert tracker.datum is None and not any(d.use for d in decisions)
    assert {d.reason for d in decisions} == {'null_island'}
    decisions = run(tracker, drive(5.0, 3.0, KARLSRUHE, rng))
    assert datum_error_m(tracker, KARLSRUHE) < 100
    assert sum(d.reinit for d in decisions) == 1 and decisions[4].reinit


def test_a_stray_first_fix_on_another_continent_is_outvoted():
    rng = np.random.default_rng(2)
    tracker = DatumTracker()
    first = tracker.observe(0, *SYDNEY)
    assert not first.use and tracker.datum is None
    run(tracker, drive(0.1, 5.0, KARLSRUHE, rng))
    assert datum_error_m(tracker, KARLSRUHE) < 100


def test_ten_seconds_of_new_york_mid_drive_are_held_back():
    rng = np.random.default_rng(3)
    tracker = DatumTracker()
    run(tracker, drive(0.0, 20.0, KARLSRUHE, rng))
    datum = tracker.datum
    ny = run(tracker, drive(20.0, 10.0, NEW_YORK, rng))
    assert not any(d.use or d.reinit for d in ny) and {d.reason for d in ny} == {'far_jump'}
    back = run(tracker, drive(30.0, 5.0, (KARLSRUHE[0], KARLSRUHE[1] + 0.01), rng))
    assert all(d.use and not d.reinit for d in back)
    assert tracker.datum == datum


def test_a_lasting_relocation_moves_the_automatic_datum():
    rng = np.random.default_rng(4)
    tracker = DatumTracker()
    run(tracker, drive(0.0, 5.0, KARLSRUHE, rng))
    moved = run(tracker, drive(5.0, 20.0, NEW_YORK, rng))
    first = next(i for i, d in enumerate(moved) if d.use)
    assert moved[first].reinit and moved[first].datum_changed
    assert first / HZ == pytest.approx(DatumConfig().relocate_s, abs=0.2)
    assert datum_error_m(tracker, NEW_YORK) < 500


def test_a_fixed_datum_never_moves_but_the_jump_rule_applies():
    rng = np.random.default_rng(5)
    tracker = DatumTracker(fixed=(*KARLSRUHE, 110.0))
    first = run(tracker, drive(0.0, 1.0, KARLSRUHE, rng))
    assert first[4].reinit and not first[4].datum_changed
    moved = run(tracker, drive(1.0, 20.0, NEW_YORK, rng))
    assert any(d.reinit for d in moved) and not any(d.datum_changed for d in moved)
    assert (tracker.datum.lat_deg, tracker.datum.lon_deg) == KARLSRUHE


def test_far_reinitialisation_recentres_an_automatic_datum():
    rng = np.random.default_rng(6)
    tracker = DatumTracker()
    run(tracker, drive(0.0, 2.0, KARLSRUHE, rng))
    assert tracker.on_reinit(KARLSRUHE[0] + 0.01, KARLSRUHE[1]) is None  # 1.1 km: keep
    new = tracker.on_reinit(KARLSRUHE[0] + 1.0, KARLSRUHE[1])  # 111 km
    assert new is not None and tracker.datum == new


def test_stamps_out_of_order_do_not_break_acquisition():
    rng = np.random.default_rng(7)
    fixes = drive(0.0, 2.0, KARLSRUHE, rng)
    rng.shuffle(fixes)
    tracker = DatumTracker()
    run(tracker, fixes)
    assert datum_error_m(tracker, KARLSRUHE) < 100


def test_distance_m_matches_a_known_value():
    # Karlsruhe - New York great circle: about 6,200 km.
    assert distance_m(*KARLSRUHE, *NEW_YORK) == pytest.approx(6.2e6, rel=0.01)
