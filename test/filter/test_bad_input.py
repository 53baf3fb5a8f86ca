"""Property test: generated sequences of good and bad inputs never give a NaN estimate, and
every bad input is ignored, counted and warned about (issue: bad input)."""

import math

import numpy as np
from filter_synth import NS, make_grid
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvseq_localizer.filter import IGNORED, RESET, FilterConfig, ParticleFilter

# stamp modes: in order, late (inside the history), from the far future, a repeat of the
# previous input (same kind, same stamp), far back (a clock jump)
_STAMP = st.sampled_from(['next', 'next', 'next', 'late', 'future', 'repeat', 'back'])
_COV = st.sampled_from(['ok', 'none', 'nan', 'zero', 'negative', 'absurd', 'tiny'])
_POS = st.sampled_from(['ok', 'ok', 'far', 'nan', 'inf'])
_ODOM = st.sampled_from(['ok', 'ok', 'nan', 'huge', 'reverse', 'bad_var'])
_HEAD = st.sampled_from(['ok', 'nan', 'neg_var', 'zero_var'])
_OP = st.one_of(
    st.tuples(st.just('gnss'), _STAMP, _POS, _COV),
    st.tuples(st.just('odom'), _STAMP, _ODOM),
    st.tuples(st.just('heading'), _STAMP, _HEAD),
    st.tuples(st.just('grid'), _STAMP),
    st.tuples(st.just('predict'), _STAMP),
)
_COVS = {
    'ok': np.eye(2) * 4.0,
    'none': None,
    'nan': np.full((2, 2), np.nan),
    'zero': np.zeros((2, 2)),
    'negative': -np.eye(2),
    'absurd': np.eye(2) * 1e12,
    'tiny': np.eye(2) * 1e-9,
}
_POSITIONS = {'ok': (5.0, -3.0), 'far': (4e7, 1e8), 'nan': (math.nan, 0.0), 'inf': (0.0, math.inf)}
_BAD = {'far', 'nan', 'inf', 'zero', 'negative', 'absurd', 'huge', 'bad_var', 'neg_var'}


def _stamp(mode: str, last: int, filter_ns: int) -> int:
    return {
        'next': last + NS // 10,
        'late': filter_ns - 300_000_000,
        'future': filter_ns + 10**6 * NS,
        'repeat': last,
        'back': filter_ns - 100 * NS,
    }[mode]


def _apply(pf: ParticleFilter, op: tuple, t: int):
    kind = op[0]
    if kind == 'gnss':
        return pf.update_gnss(t, np.array(_POSITIONS[op[2]]), _COVS[op[3]])
    if kind == 'odom':
        speed = {'ok': 8.0, 'nan': math.nan, 'huge': 1e6, 'reverse': -2.0, 'bad_var': 1.0}[op[2]]
        var = math.nan if op[2] == 'bad_var' else 0.01
        return pf.update_odometry(t, speed, 0.05, var, 1e-4)
    if kind == 'heading':
        yaw = math.nan if op[2] == 'nan' else 0.5
        var = {'neg_var': -1.0, 'zero_var': 0.0}.get(op[2], 0.01)
        return pf.update_heading(t, yaw, var)
    if kind == 'grid':
        pts, p = make_grid(np.zeros(2), np.ones(2), np.random.default_rng(0), 8)
        return pf.update_grid(t, pts, p, 2.28)
    return pf.predict(t)


def _check_estimate(pf: ParticleFilter) -> None:
    est = pf.estimate()
    assert np.all(np.isfinite(est.xy_enu_m)) and np.all(np.isfinite(est.cov_xy_m2))
    values = (est.yaw_rad, est.yaw_var_rad2, est.speed_mps, est.ess)
    assert all(math.isfinite(v) for v in values)
    assert np.all(np.linalg.eigvalsh(est.cov_xy_m2) >= -1e-6)
    assert np.all(np.isfinite(pf.particles.log_w))
    assert np.all(np.isfinite(pf.estimate_at(pf.stamp_ns - NS // 4).xy_enu_m))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(_OP, min_size=1, max_size=30))
def test_bad_inputs_are_ignored_counted_and_never_give_nan(ops):
    pf = ParticleFilter(FilterConfig(num_particles=64, future_streak=4), np.random.default_rng(0))
    pf.update_gnss(10 * NS, np.zeros(2), np.eye(2))
    last = {}
    for op in ops:
        kind, mode = op[0], op[1]
        t = _stamp(mode, last.get(kind, pf.stamp_ns), pf.stamp_ns)
        ignored_before, was_initialized = _ignored_total(pf), pf.is_initialized
        r = _apply(pf, op, t)
        last[kind] = t
        bad_value = any(x in _BAD for x in op[2:])
        resets = [e for e in r.events if e.kind == RESET]
        if bad_value or (mode == 'future' and was_initialized and not resets):
            assert r.status == IGNORED, (op, r)
        if r.status == IGNORED and kind != 'predict':
            assert _ignored_total(pf) > ignored_before, (op, r)
        if pf.is_initialized:
            _check_estimate(pf)


def _ignored_total(pf: ParticleFilter) -> int:
    s = pf.stats
    return s.fixes_ignored + s.grids_ignored + s.odometry_ignored + s.headings_ignored


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(['gnss', 'odom', 'heading', 'grid']), dt=st.integers(1, 5 * NS))
def test_a_repeated_input_is_ignored_as_a_duplicate(kind, dt):
    pf = ParticleFilter(FilterConfig(num_particles=64), np.random.default_rng(1))
    pf.update_gnss(10 * NS, np.zeros(2), np.eye(2))
    op = {'gnss': ('gnss', 'next', 'ok', 'ok'), 'odom': ('odom', 'next', 'ok'),
          'heading': ('heading', 'next', 'ok'), 'grid': ('grid', 'next')}[kind]  # fmt: skip
    t = 10 * NS + dt
    assert _apply(pf, op, t).used
    before = pf.stats.duplicates
    r = _apply(pf, op, t)
    assert r.status == IGNORED and pf.stats.duplicates == before + 1
    _check_estimate(pf)
