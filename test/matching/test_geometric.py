import dataclasses
import math

import numpy as np
import pytest

from cvseq_localizer.geo.camera import CameraMount
from cvseq_localizer.matching import GeometricConfig, GeometricMatcher
from cvseq_localizer.matching.frame_eval import estimate_xy_enu


def _run(engine, frame, yaw_prior=None, std=None, image=None):
    feats = engine.encode_satellite(frame.tile.image)
    prior = frame.true_yaw_rad if yaw_prior is None else yaw_prior
    image = frame.ground_rgb if image is None else image
    return engine.step(
        image, feats, None, camera=frame.camera, yaw_prior_rad=prior, yaw_prior_std_rad=std
    )


def _error_m(out, frame) -> float:
    return float(np.hypot(*(estimate_xy_enu(out, frame) - frame.true_xy_enu_m)))


def _heading_err_deg(yaw, truth) -> float:
    return abs(math.degrees(np.angle(np.exp(1j * (yaw - truth)))))


def test_true_heading_finds_the_truth(dev_frames):
    engine = GeometricMatcher()
    errors = [_error_m(_run(engine, f), f) for f in dev_frames]
    prior = [float(np.hypot(*f.true_offset_enu_m)) for f in dev_frames]
    # Ambiguous places fail (FACTS.md section 6: p90 ~25 m); most frames land on the truth.
    assert np.mean(np.asarray(errors) < 2.0) >= 0.5, errors
    assert np.median(errors) < 0.25 * np.median(prior)


def test_heading_search_recovers_an_8_degree_error(dev_frames):
    engine = GeometricMatcher()
    head, errors = [], []
    for i, f in enumerate(dev_frames):
        prior = f.true_yaw_rad + math.radians(8.0 if i % 2 else -8.0)
        out = _run(engine, f, prior, math.radians(8.0))
        head.append(_heading_err_deg(out.heading.yaw_rad, f.true_yaw_rad))
        errors.append(_error_m(out, f))
    assert np.median(head) < 3.0, head
    assert np.median(errors) < 2.0, errors
    # Without the search (a single candidate at the wrong heading) the position is worse.
    narrow = GeometricMatcher(GeometricConfig(heading_window_deg=0.0))
    wrong = [_error_m(_run(narrow, f, f.true_yaw_rad + math.radians(8.0)), f) for f in dev_frames]
    assert np.mean(errors) < np.mean(wrong)


def test_window_widens_with_an_uncertain_heading_prior(dev_frames):
    c = GeometricConfig()
    assert len(c.candidate_offsets_rad()) == 17  # +-16 deg in 2 deg steps
    assert len(c.candidate_offsets_rad(math.radians(8.0))) == 17  # 2 x 8 = 16: unchanged
    wide = c.candidate_offsets_rad(math.radians(15.0))  # 2 x 15 = 30 deg
    assert math.degrees(wide.max()) == pytest.approx(30.0) and len(wide) == 31
    assert math.degrees(c.candidate_offsets_rad(math.radians(60.0)).max()) == pytest.approx(40.0)
    # A prior 24 deg off with a 15 deg std: the fixed window cannot reach the truth, the wide
    # one can.
    engine, fixed = GeometricMatcher(), GeometricMatcher(dataclasses.replace(c, window_sigmas=0))
    head_wide, head_fixed = [], []
    for i, f in enumerate(dev_frames):
        prior = f.true_yaw_rad + math.radians(24.0 if i % 2 else -24.0)
        for eng, out in ((engine, head_wide), (fixed, head_fixed)):
            yaw = _run(eng, f, prior, math.radians(15.0)).heading.yaw_rad
            out.append(_heading_err_deg(yaw, f.true_yaw_rad))
    assert np.median(head_fixed) > 6.0, head_fixed
    assert np.median(head_wide) < 3.0, head_wide


def test_output_shapes_and_normalisation(dev_frames):
    engine = GeometricMatcher()
    f = dev_frames[0]
    out = _run(engine, f, f.true_yaw_rad + 0.1, 0.14)  # 2 sigma < 16 deg: 17
    n = engine.grid_n
    assert out.prob.shape == (n, n) and out.offsets.shape == (n, n, 2)
    assert out.prob.sum() == pytest.approx(1.0) and np.all(out.prob >= 0)
    assert np.all(out.offsets >= 0) and np.all(out.offsets < 1)
    h = out.heading
    assert h.candidates_rad.shape == h.prob.shape == (17,)
    assert h.prob.sum() == pytest.approx(1.0)
    assert h.candidates_rad[8] == pytest.approx(f.true_yaw_rad + 0.1)
    assert 0 < h.yaw_var_rad2 < math.inf and out.ground_visible
    assert out.hidden is None and engine.shift_hidden(None, 1, 1) is None


def test_deterministic(dev_frames):
    f = dev_frames[1]
    a, b = _run(GeometricMatcher(), f, 0.3, 0.1), _run(GeometricMatcher(), f, 0.3, 0.1)
    np.testing.assert_array_equal(a.prob, b.prob)
    np.testing.assert_array_equal(a.offsets, b.offsets)
    assert a.heading.yaw_rad == b.heading.yaw_rad


def _assert_uninformative(out, engine):
    n = engine.grid_n
    assert not out.ground_visible
    np.testing.assert_allclose(out.prob, 1.0 / n**2)
    assert np.all(np.isfinite(out.offsets)) and math.isinf(out.heading.yaw_var_rad2)
    assert not out.heading.informative and math.isfinite(out.heading.yaw_rad)
    assert out.heading.prob.sum() == pytest.approx(1.0)


def test_camera_that_cannot_see_the_ground_gives_a_uniform_grid(dev_frames):
    engine = GeometricMatcher()
    f = dev_frames[0]
    up = dataclasses.replace(f.camera, mount=CameraMount(z_m=1.65, pitch_rad=-0.8))
    feats = engine.encode_satellite(f.tile.image)
    out = engine.step(f.ground_rgb, feats, None, camera=up, yaw_prior_rad=0.2)
    _assert_uninformative(out, engine)


@pytest.mark.parametrize('value', [0, 128])
def test_blank_image_gives_a_uniform_grid(dev_frames, value):
    engine = GeometricMatcher()
    f = dev_frames[0]
    out = _run(engine, f, image=np.full_like(f.ground_rgb, value))
    _assert_uninformative(out, engine)


def test_nan_heading_prior_gives_a_uniform_grid(dev_frames):
    engine = GeometricMatcher()
    out = _run(engine, dev_frames[0], yaw_prior=math.nan)
    _assert_uninformative(out, engine)
    assert np.all(np.isfinite(out.heading.candidates_rad))


def test_resized_image_uses_the_scaled_camera(dev_frames):
    import cv2

    engine = GeometricMatcher()
    f = dev_frames[2]
    big = cv2.resize(f.ground_rgb, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)
    a, b = _run(engine, f), _run(engine, f, image=big)
    assert np.hypot(*(estimate_xy_enu(a, f) - estimate_xy_enu(b, f))) < 1.5


def test_config_rejects_a_grid_that_does_not_divide_the_tile():
    with pytest.raises(ValueError):
        GeometricConfig(grid_n=12, sat_size=128)


def test_coarse_to_fine_refines_the_most_likely_headings(dev_frames):
    engine = GeometricMatcher(GeometricConfig(refine_top=4))
    f = dev_frames[4]
    prior = f.true_yaw_rad + math.radians(8.0)
    out = _run(engine, f, prior, math.radians(8.0))
    cands = out.heading.candidates_rad
    assert cands.shape == (4,) and out.scores.shape == (4, 128, 128)
    # The refined headings bracket the truth, not the wrong prior.
    assert min(_heading_err_deg(c, f.true_yaw_rad) for c in cands) <= 2.0
    assert _heading_err_deg(out.heading.yaw_rad, f.true_yaw_rad) < 3.0
    full = _run(GeometricMatcher(), f, prior, math.radians(8.0))
    assert np.hypot(*(estimate_xy_enu(out, f) - estimate_xy_enu(full, f))) < 1.0


def test_heading_acquisition_without_a_heading_prior(dev_frames):
    """Every heading is searched; an answer is given only when the posterior is concentrated,
    and those answers are mostly right (the rest is ambiguous: None)."""
    engine = GeometricMatcher()
    answered, errors = 0, []
    for f in dev_frames:
        feats = engine.encode_satellite(f.tile.image)
        res = engine.sat_ground_m / engine.sat_size
        c = (engine.sat_size - 1) / 2.0
        rc = (c - f.true_offset_enu_m[1] / res, c + f.true_offset_enu_m[0] / res)
        # a prior 3 m off the truth with a 5 m std (what GNSS gives)
        rc = (rc[0] + 3.0 / res, rc[1])
        h = engine.acquire_heading(f.ground_rgb, feats, camera=f.camera, prior_rc_px=rc,
                                   prior_sigma_px=5.0 / res)  # fmt: skip
        if h is None:
            continue
        answered += 1
        assert h.candidates_rad.shape == (120,) and h.prob.sum() == pytest.approx(1.0)
        assert 0 < h.yaw_var_rad2 < math.radians(10.0) ** 2
        errors.append(_heading_err_deg(h.yaw_rad, f.true_yaw_rad))
    assert answered >= 8, answered
    assert np.mean(np.asarray(errors) < 5.0) >= 0.75, errors
    # a blank frame answers nothing
    f = dev_frames[0]
    blank = np.zeros_like(f.ground_rgb)
    feats = engine.encode_satellite(f.tile.image)
    assert engine.acquire_heading(blank, feats, camera=f.camera, prior_rc_px=(64.0, 64.0),
                                  prior_sigma_px=10.0) is None  # fmt: skip


def test_position_prior_keeps_a_far_alias_from_choosing_the_heading():
    """Heading evidence marginalises over the caller's position Gaussian when given: a
    stronger match 40 px away at another heading no longer decides it (``prob`` unchanged)."""
    engine = GeometricMatcher()
    cands = np.radians(np.arange(-16.0, 17.0, 2.0))
    scores = np.full((len(cands), 128, 128), 0.05, np.float32)
    near, far = 8, 14  # candidate indices: 0 deg at the prior, +12 deg at the alias
    scores[near, 60, 60] = 0.30
    scores[far, 100, 60] = 0.35
    plain = engine.posterior(scores, cands, 0.0, None)
    local = engine.posterior(scores, cands, 0.0, None, position_prior_px=(60.0, 60.0, 6.0))
    assert _heading_err_deg(plain.heading.yaw_rad, cands[far]) < 1.0
    assert _heading_err_deg(local.heading.yaw_rad, cands[near]) < 1.0
    np.testing.assert_allclose(local.prob, plain.prob)
    # an unusable prior falls back to the whole tile
    bad = engine.posterior(scores, cands, 0.0, None, position_prior_px=(60.0, math.nan, 6.0))
    assert bad.heading.yaw_rad == pytest.approx(plain.heading.yaw_rad)
    # a prior far from every good score still gives a finite answer (log space, no underflow)
    edge = engine.posterior(scores, cands, 0.0, None, position_prior_px=(-500.0, -500.0, 1.0))
    assert math.isfinite(edge.heading.yaw_rad) and math.isfinite(edge.heading.yaw_var_rad2)
