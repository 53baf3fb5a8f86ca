"""End-to-end behaviour on synthetic drives: convergence, outliers, dropouts, wrong frames."""

import numpy as np
import pytest
from filter_synth import NS, make_drive, make_grid, run_drive, wrapped

from cvseq_localizer.filter import FilterConfig, ParticleFilter
from cvseq_localizer.filter import fix_track as T


def _pf(seed: int = 0, **kw) -> ParticleFilter:
    return ParticleFilter(FilterConfig(**kw), np.random.default_rng(seed))


@pytest.mark.parametrize('yaw_rate_radps', [0.0, 0.15], ids=['straight', 'curved'])
def test_grid_observations_shrink_error_vs_raw_gnss(yaw_rate_radps):
    drive = make_drive(40.0, 10.0, yaw_rate_radps)
    r = run_drive(_pf(1), drive, seed=11, use_grid=True)
    assert r.filter_err_m < 0.5 * r.raw_gnss_err_m
    assert r.filter_err_m < 2.0


@pytest.mark.parametrize('yaw_rate_radps', [0.0, 0.15], ids=['straight', 'curved'])
def test_gnss_only_is_not_worse_than_raw(yaw_rate_radps):
    drive = make_drive(40.0, 10.0, yaw_rate_radps)
    # A constant-speed drive with white 1 Hz GNSS: configure the motion noise for such a
    # vehicle (the default follows braking/stops of real and simulated drives).
    pf = _pf(2, accel_noise_mps2=0.5, yaw_accel_noise_radps2=0.1)
    r = run_drive(pf, drive, seed=12, use_grid=False)
    assert r.filter_err_m <= r.raw_gnss_err_m


def test_yaw_converges_to_driving_direction():
    drive = make_drive(30.0, 10.0, 0.0, yaw0_rad=2.0)
    pf = _pf(3)
    r = run_drive(pf, drive, seed=13, use_grid=True)
    est = pf.estimate()
    assert r.yaw_err_rad < 0.15
    assert abs(wrapped(est.yaw_rad - 2.0)) < 0.2
    assert est.yaw_var_rad2 < 0.1
    assert est.speed_mps == pytest.approx(10.0, abs=1.5)


def test_yaw_wraps_around_pi():
    # heading west and turning left: yaw crosses +pi -> -pi during the drive
    drive = make_drive(30.0, 10.0, 0.05, yaw0_rad=np.pi - 0.6)
    assert drive.yaw_rad[0] > 2.5 and drive.yaw_rad[-1] < -2.0
    pf = _pf(4)
    r = run_drive(pf, drive, seed=14, use_grid=True)
    assert r.yaw_err_rad < 0.15
    assert r.final_yaw_err_rad < 0.2
    assert -np.pi <= pf.estimate().yaw_rad <= np.pi


def _converged(seed: int, duration_s: float = 15.0, use_grid: bool = True, **kw):
    """A filter that has driven east at 10 m/s for ``duration_s`` with GNSS (+ grid)."""
    drive = make_drive(duration_s, 10.0, 0.0, yaw0_rad=0.0)
    pf = _pf(seed, **kw)
    run_drive(pf, drive, seed=seed + 100, use_grid=use_grid)
    return pf, drive


def test_30m_gnss_outlier_is_down_weighted_and_next_fix_counts():
    # the mixture itself (the fix-track jump check would reject this outlier outright)
    pf, drive = _converged(5, gnss_jump_check=False)
    t = int(drive.stamps_ns[-1]) + NS // 10
    truth = drive.xy_enu_m[-1] + np.array([1.0, 0.0])
    before = pf.estimate()
    r = pf.update_gnss(t, truth + np.array([0.0, 30.0]), np.eye(2) * 9.0)
    assert r.used and r.inlier_prob < 0.01  # fused, as an outlier: no lock-out state
    after = pf.estimate()
    assert np.hypot(*(after.xy_enu_m - truth)) < 3.0
    assert np.hypot(*(after.xy_enu_m - before.xy_enu_m)) < 2.0  # motion only (0.1 s)
    r = pf.update_gnss(t + NS, truth + np.array([10.0, 0.0]), np.eye(2) * 9.0)
    assert r.used and r.inlier_prob > 0.5  # the next good fix has its full weight
    assert pf.stats.fixes_rejected == 0


def test_30m_jump_is_rejected_by_the_fix_track_and_next_good_fix_counts():
    pf, drive = _converged(5)
    t = int(drive.stamps_ns[-1]) + NS // 10
    truth = drive.xy_enu_m[-1] + np.array([1.0, 0.0])
    before = pf.estimate()
    r = pf.update_gnss(t, truth + np.array([0.0, 30.0]), np.eye(2) * 9.0)
    assert not r.used and r.status == 'rejected' and 'jumped' in r.reason
    assert pf.stats.fixes_rejected == 1
    assert np.hypot(*(pf.estimate().xy_enu_m - before.xy_enu_m)) < 2.0  # motion only (0.1 s)
    r = pf.update_gnss(t + NS // 10, truth + np.array([1.0, 0.0]), np.eye(2) * 9.0)
    assert r.used and r.inlier_prob > 0.5  # back on the track: full weight at once


def test_paper_gate_rejects_30m_outlier_and_counts_it():
    pf, drive = _converged(5, gnss_model='paper_gate')
    t = int(drive.stamps_ns[-1]) + NS // 10
    truth = drive.xy_enu_m[-1] + np.array([1.0, 0.0])
    before = pf.estimate()
    assert not pf.update_gnss(t, truth + np.array([0.0, 30.0]), np.eye(2) * 9.0)
    after = pf.estimate()
    assert pf.stats.fixes_rejected == 1
    assert np.hypot(*(after.xy_enu_m - truth)) < 3.0
    assert np.hypot(*(after.xy_enu_m - before.xy_enu_m)) < 2.0  # motion only (0.1 s)
    # the next good fix is accepted again
    assert pf.update_gnss(t + NS, truth + np.array([10.0, 0.0]), np.eye(2) * 9.0)


def test_gnss_dropout_grows_covariance_and_recovers():
    pf, drive = _converged(6, use_grid=False)
    t0 = int(drive.stamps_ns[-1])
    trace0 = np.trace(pf.estimate().cov_xy_m2)
    for k in range(1, 101):  # 10 s without fixes
        pf.predict(t0 + k * NS // 10)
    trace1 = np.trace(pf.estimate().cov_xy_m2)
    assert trace1 > 2.0 * trace0
    rng = np.random.default_rng(0)
    for k in range(1, 11):  # fixes again at 1 Hz
        t = t0 + 10 * NS + k * NS
        truth = drive.xy_enu_m[-1] + np.array([10.0 * (10 + k), 0.0])
        assert pf.update_gnss(t, truth + 3.0 * rng.standard_normal(2), np.eye(2) * 9.0)
    est = pf.estimate()
    assert np.hypot(*(est.xy_enu_m - truth)) < 5.0
    assert np.trace(est.cov_xy_m2) < trace1
    assert pf.stats.fixes_rejected == 0 and pf.stats.reinitializations == 0


def test_confidently_wrong_grid_frame_moves_estimate_little():
    pf, drive = _converged(7)
    t = int(drive.stamps_ns[-1]) + NS // 10
    truth = drive.xy_enu_m[-1] + np.array([1.0, 0.0])
    pf.predict(t)
    before = pf.estimate().xy_enu_m
    center = np.round(truth / 20.0) * 20.0
    pts, p = make_grid(
        center, truth + np.array([-12.0, 9.0]), np.random.default_rng(1), 32, 2.28, 0.5
    )
    assert pf.update_grid(t, pts, p, 2.28)
    after = pf.estimate().xy_enu_m
    assert np.hypot(*(after - before)) < 3.0
    assert np.hypot(*(after - truth)) < 3.0


@pytest.mark.parametrize('jump_check', [True, False], ids=['fix_track', 'mixture_only'])
def test_persistent_gnss_jump_is_followed_without_lockout(jump_check):
    pf = _pf(8, gnss_jump_check=jump_check)
    rng = np.random.default_rng(2)
    for k in range(100):
        pf.update_gnss(k * NS // 10, rng.standard_normal(2), np.eye(2))
    for k in range(100, 250):  # the receiver's position jumps by 40 m and stays there
        pf.update_gnss(k * NS // 10, np.array([40.0, 0.0]) + rng.standard_normal(2), np.eye(2))
    # the fix track holds the jump off for gnss_jump_confirm_s (8 s at 10 Hz), then re-anchors
    assert pf.stats.fixes_rejected == (80 if jump_check else 0)
    assert pf.stats.reanchors == int(jump_check)
    assert np.hypot(*(pf.estimate().xy_enu_m - [40.0, 0.0])) < 2.0


def test_paper_gate_persistent_gnss_offset_reanchors():
    pf = _pf(8, reanchor_after_rejections=4, reanchor_after_s=3.0, gnss_model='paper_gate')
    rng = np.random.default_rng(2)
    for k in range(10):
        pf.update_gnss(k * NS, np.array([0.0, 0.0]) + rng.standard_normal(2), np.eye(2))
    for k in range(10, 20):  # the receiver's position jumps by 40 m and stays there
        pf.update_gnss(k * NS, np.array([40.0, 0.0]) + rng.standard_normal(2), np.eye(2))
    assert pf.stats.fixes_rejected == 3
    assert pf.stats.reanchors == 1 and pf.stats.reinitializations == 1
    assert 're-anchor' in pf.stats.last_reinit_reason
    assert np.hypot(*(pf.estimate().xy_enu_m - [40.0, 0.0])) < 2.0


@pytest.mark.parametrize('model', ['robust', 'paper_gate'])
def test_multipath_episode_is_not_followed(model):
    # A parked car with 10 Hz fixes; a 1.5 s multipath episode 25 m east (15 consistent fixes,
    # more than reanchor_after_rejections) must not move the estimate: no re-anchor onto it.
    pf = _pf(8, gnss_model=model)
    rng = np.random.default_rng(4)
    for k in range(150):
        jump = 25.0 if 100 <= k < 115 else 0.0
        pf.update_gnss(k * NS // 10, np.array([jump, 0.0]) + rng.standard_normal(2), np.eye(2))
        assert np.hypot(*pf.estimate().xy_enu_m) < 3.0
    assert pf.stats.reanchors == 0 and pf.stats.reinitializations == 0
    if model == 'paper_gate':
        assert pf.stats.fixes_rejected >= 15


def test_estimate_far_from_gnss_is_a_divergence():
    # the network drifts onto a parallel road 20 m north while GNSS (accepted) stays at 0
    pf = _pf(9, diverge_after_s=2.0)
    rng = np.random.default_rng(3)
    for k in range(150):
        t = k * NS // 5
        if k % 5 == 0:
            pf.update_gnss(t, 3.0 * rng.standard_normal(2), np.eye(2) * 9.0)
        peak = np.array([0.0, min(0.25 * k, 20.0)])
        pts, p = make_grid(np.zeros(2), peak, rng, peak_sigma_m=0.7)
        pf.update_grid(t, pts, p, 2.28)
        if pf.stats.divergences:
            break
    assert pf.stats.divergences == 1 and pf.stats.fixes_rejected == 0
    assert pf.stats.last_reinit_reason == 'estimate far from GNSS'
    est = pf.estimate()
    assert est.diverged
    assert np.hypot(*est.xy_enu_m) < 10.0


def _wrong_lock(offset_m: float, seed: int = 9, **kw) -> tuple[ParticleFilter, float | None]:
    """A parked car: 10 Hz fixes near the truth (0, 0); the network's peak, on a tile that
    follows the estimate, walks 0.3 m per frame to ``offset_m`` east and stays there (a matcher
    locked onto a wrong place). Returns the filter and the time of the first divergence (s
    after the peak reached 30 m east), or None within 10 s of it."""
    pf = _pf(seed, gnss_bias_sigma_m=3.0, grid_temperature=0.25, **kw)  # as with the matcher
    rng = np.random.default_rng(seed)
    arrived_s = None
    for k in range(500):
        t = k * NS // 10
        pf.update_gnss(t, 1.5 * rng.standard_normal(2), np.eye(2) * 2.0)
        peak = np.array([min(0.3 * k, offset_m), 0.0])
        if arrived_s is None and peak[0] >= min(30.0, offset_m):
            arrived_s = k / 10
        pts, p = make_grid(pf.estimate().xy_enu_m, peak, rng, peak_sigma_m=0.7)
        pf.update_grid(t, pts, p, 2.28)
        if pf.stats.divergences:
            return pf, k / 10 - arrived_s
        if arrived_s is not None and k / 10 - arrived_s > 10.0:
            break
    return pf, None


def test_gross_disagreement_with_gnss_ends_a_wrong_lock_early():
    # 40 m from every fix is beyond any receiver bias: a divergence within the gross tier's
    # 3 s, not after diverge_with_grid_after_s (12 s)
    pf, after_s = _wrong_lock(40.0)
    assert after_s is not None and after_s < 5.0
    assert pf.stats.last_reinit_reason == 'estimate far from GNSS'
    assert np.hypot(*pf.estimate().xy_enu_m) < 10.0
    _, off_after_s = _wrong_lock(40.0, diverge_gross_m=0.0)
    # without the tier the 12 s streak (begun at 10 m) ends it later
    assert off_after_s is None or off_after_s > after_s + 3.0
    # a bias-sized disagreement (20 m) is left to the long rule
    _, bias_after_s = _wrong_lock(20.0)
    assert bias_after_s is None


def test_grid_always_at_floor_is_a_divergence():
    pf = _pf(10, diverge_floor_frames=10)
    pf.update_gnss(0, np.zeros(2), np.eye(2))
    rng = np.random.default_rng(4)
    for k in range(1, 12):  # the network sees itself on a far corner of the tile
        pts, p = make_grid(np.zeros(2), np.array([30.0, 30.0]), rng, peak_sigma_m=0.5)
        assert pf.update_grid(k * NS // 10, pts, p, 2.28)
    assert pf.stats.grid_floor_frames >= 10
    assert pf.stats.divergences == 1
    assert pf.stats.last_reinit_reason == 'grid likelihood at the floor'
    assert pf.estimate().diverged and pf.estimate().gnss_only


def test_gate_on_estimate_rejects_episode_and_accepts_after():
    pf = _pf(8, gate_on_estimate=True, gnss_model='paper_gate')
    rng = np.random.default_rng(5)
    accepted_after = []
    for k in range(150):
        jump = 25.0 if 100 <= k < 130 else 0.0  # a 3 s multipath episode
        ok = pf.update_gnss(
            k * NS // 10, np.array([jump, 0.0]) + rng.standard_normal(2), np.eye(2)
        )
        # dead reckoning through the episode drifts a little; it does not follow the 25 m jump
        assert np.hypot(*pf.estimate().xy_enu_m) < 6.0
        if k >= 130:
            accepted_after.append(ok)
    assert pf.stats.fixes_rejected >= 30 and all(accepted_after)


def _parked_with_network(offset_at, seed: int = 5, **kw):
    """A parked car, the network's peak at the truth (0, 0) at 10 Hz and 10 Hz fixes at
    ``offset_at(t)`` (multipath, (2,) m) plus white noise. Returns the filter and the largest
    error after the first 2 s."""
    pf = _pf(seed, **kw)
    rng = np.random.default_rng(seed)
    worst = 0.0
    for k in range(400):
        t = k * NS // 10
        pf.update_gnss(t, np.asarray(offset_at(k / 10), float) + rng.standard_normal(2), np.eye(2))
        pts, p = make_grid(np.zeros(2), np.zeros(2), rng, peak_sigma_m=0.7)
        pf.update_grid(t, pts, p, 2.28)
        if k >= 20:
            worst = max(worst, float(np.hypot(*pf.estimate().xy_enu_m)))
    return pf, worst


def test_good_fixes_between_multipath_episodes_end_the_disagreement(monkeypatch):
    # Dev urban 324: the fix track was captured by a first 20 m episode (2-7 s), so it labelled
    # the good fixes after it suspect (7-9.5 s), and a second episode followed (9.5-17 s). The
    # disagreement with GNSS must restart at those rejected good fixes, so that no 12 s streak
    # across both episodes re-initialises the network-held estimate onto the multipath.
    def offset_at(t):
        if 2.0 <= t < 7.0:
            return (20.0, 0.0)
        return (0.0, -20.0) if 9.5 <= t < 17.0 else (0.0, 0.0)

    def captured_track(self, stamp_ns, xy, sigma):
        """A fix track captured by the first episode: suspect exactly from 7 to 9.5 s."""
        return T.SUSPECT if 7.0 <= stamp_ns / NS < 9.5 else T.CONFIRMED

    monkeypatch.setattr(T.FixTrack, 'add', captured_track)
    pf, worst = _parked_with_network(offset_at)
    assert pf.stats.fixes_rejected == 25
    assert pf.stats.reinitializations == 0 and pf.stats.divergences == 0
    assert worst < 3.0


@pytest.mark.parametrize('reanchor', [False, True], ids=['network_holds', 'reanchor'])
def test_a_promoted_jump_does_not_reanchor_a_network_held_estimate(reanchor):
    # a 9 s multipath episode outlasts gnss_jump_confirm_s (8 s): on GNSS alone a genuine jump,
    # while the network holds the truth an ordinary disagreement (diverge_with_grid_after_s)
    def offset_at(t):
        return (25.0, 0.0) if 5.0 <= t < 14.0 else (0.0, 0.0)

    pf, worst = _parked_with_network(offset_at, reanchor_promoted_with_grid=reanchor)
    if reanchor:
        assert pf.stats.reanchors >= 1 and worst > 15.0
    else:
        assert pf.stats.reanchors == 0 and pf.stats.reinitializations == 0
        assert worst < 3.0
