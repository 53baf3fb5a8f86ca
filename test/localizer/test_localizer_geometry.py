"""The Localizer with a geometry-aware engine: camera and heading prior in, heading out; odometry;
a confidently wrong network; inference outside the state lock."""

import math
import threading

import numpy as np
from test_localizer import FRAME, GROUND_M, IMG, GeoTiles, N, RecordingEngine, fix, make

from cvseq_localizer.filter import FilterConfig
from cvseq_localizer.geo import CameraModel
from cvseq_localizer.runtime.engine import EngineOutput
from cvseq_localizer.runtime.heading import HeadingEvidence
from cvseq_localizer.types import OdometrySample

CAMERA = CameraModel.from_hfov(64, 32, 90.0)


class HeadingEngine(RecordingEngine):
    """A geometry-aware fake: records the camera and heading prior it is given, points at
    ``target_enu`` like RecordingEngine, and measures the heading ``yaw_rad`` with std 2 deg."""

    needs_camera = True

    def __init__(self, tiles=None, yaw_rad=0.0):
        super().__init__(tiles)
        self.yaw_rad = yaw_rad
        self.geometry = []
        self.gate: threading.Event | None = None
        self.entered = threading.Event()

    def step(self, ground, feats, hidden, *, camera, yaw_prior_rad, yaw_prior_std_rad=None):
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(10.0), 'test never released the engine'
        self.geometry.append((camera, yaw_prior_rad, yaw_prior_std_rad))
        out = super().step(ground, feats, hidden)
        cand = np.array([self.yaw_rad])
        heading = HeadingEvidence(self.yaw_rad, math.radians(2.0) ** 2, cand, np.ones(1))
        return EngineOutput(out.prob, out.offsets, out.hidden, heading)


def drive_east(loc, n=30, speed=5.0, var_m2=4.0, image=True, t0=0.0):
    """Fixes and frames of a vehicle driving east at ``speed``; returns the last output."""
    out = None
    for i in range(n):
        t = t0 + 0.1 * i
        loc.on_gnss(fix(t, east=speed * t, var_m2=var_m2))
        if image:
            out = loc.on_image(int((t + 0.05) * 1e9), IMG)
    return out


def test_camera_and_heading_prior_reach_the_engine_and_heading_is_fused():
    engine = HeadingEngine(yaw_rad=0.0)  # driving east: yaw 0
    loc = make(engine, GeoTiles(engine), network_max_yaw_std_deg=180.0)
    loc.camera = CAMERA
    out = drive_east(loc)
    camera, yaw_prior, yaw_std = engine.geometry[-1]
    assert camera is CAMERA
    assert math.isfinite(yaw_prior) and yaw_std is not None
    assert out.network_yaw_rad == 0.0 and out.network_yaw_var_rad2 > 0
    assert loc.health().headings_used == len(engine.geometry)
    assert abs(out.estimate.yaw_rad) < math.radians(5.0)


def test_the_filters_position_reaches_an_engine_that_takes_it():
    """``takes_position_prior``: the step gets the filter's position as tile pixels (row 0
    north) with its std, and not with ``heading_position_prior`` off; engines without the
    flag get the plain geometry (the test above)."""

    class PriorEngine(HeadingEngine):
        takes_position_prior = True

        def step(self, ground, feats, hidden, *, position_prior_px=None, **geometry):
            self.priors.append(position_prior_px)
            return super().step(ground, feats, hidden, **geometry)

    def last_prior(**kw):
        engine = PriorEngine(yaw_rad=0.0)
        engine.priors = []
        loc = make(engine, GeoTiles(engine), network_max_yaw_std_deg=180.0, **kw)
        loc.camera = CAMERA
        drive_east(loc)
        return engine, loc, engine.priors[-1]

    engine, loc, prior = last_prior()
    est = loc.filter.estimate()
    tile = loc._keeper.tile
    res = engine.sat_ground_m / engine.sat_size
    row, col, sigma_px = prior
    c = (engine.sat_size - 1) / 2.0
    d = (est.xy_enu_m - tile.center_enu_m) / res
    assert abs(col - (c + d[0])) < 1.0 / res and abs(row - (c - d[1])) < 1.0 / res
    assert 0 < sigma_px * res < 10.0
    assert last_prior(heading_position_prior=False)[2] is None


def test_heading_output_moves_the_filters_heading():
    """Same fixes: a network that says 'heading 20 deg' turns the estimate's yaw towards it."""

    def final_yaw(use_heading):
        engine = HeadingEngine(yaw_rad=math.radians(20.0))
        loc = make(engine, GeoTiles(engine), network_max_yaw_std_deg=180.0,
                   use_network_heading=use_heading)  # fmt: skip
        loc.camera = CAMERA
        return drive_east(loc).estimate.yaw_rad

    assert final_yaw(True) - final_yaw(False) > math.radians(5.0)


def test_no_camera_means_gnss_only_frames():
    engine = HeadingEngine()
    loc = make(engine, GeoTiles(engine))
    loc.on_gnss(fix(0.0))
    out = loc.on_image(int(0.05e9), IMG)
    assert out.network_skipped == 'no_camera' and out.estimate is not None
    assert engine.geometry == []
    assert loc.health().frames_skipped == {'no_camera': 1}


def test_uncertain_heading_skips_the_heading_search():
    engine = HeadingEngine()
    loc = make(engine, GeoTiles(engine), network_max_yaw_std_deg=5.0)
    loc.camera = CAMERA
    loc.on_gnss(fix(0.0))  # a standing start: the heading is unknown
    assert loc.on_image(int(0.05e9), IMG).network_skipped == 'heading_uncertain'


class ConfirmingEngine(HeadingEngine):
    """Measures whatever heading it is told to search around (std 2 deg) and puts its peak on
    the filter's estimate: an engine whose heading window missed the true heading and that
    confirms the prior instead (what the geometric matcher did on development drive 313)."""

    localizer = None

    def step(self, ground, feats, hidden, *, camera, yaw_prior_rad, yaw_prior_std_rad=None):
        self.yaw_rad = yaw_prior_rad
        self.target_enu = self.localizer.filter.estimate().xy_enu_m
        return super().step(ground, feats, hidden, camera=camera, yaw_prior_rad=yaw_prior_rad,
                            yaw_prior_std_rad=yaw_prior_std_rad)  # fmt: skip


def test_heading_that_disagrees_with_the_gnss_track_stops_the_engine():
    """A filter heading 60 deg off (locked in at a standing start, say) that an engine keeps
    confirming: the GNSS fix track's heading is the independent check that stops the engine
    until GNSS has corrected the heading (the filter's own motion check is off here)."""

    def run(check_s):
        engine = ConfirmingEngine()
        loc = make(engine, GeoTiles(engine), network_heading_check_s=check_s,
                   filter=FilterConfig(motion_check_after_s=0.0))  # fmt: skip
        loc.camera, engine.localizer = CAMERA, loc
        drive_east(loc, n=30, speed=8.0, var_m2=1.0)
        loc.filter.particles.yaw_rad[:] = math.radians(60.0)  # the lock-in, injected
        calls = len(engine.geometry)
        drive_east(loc, n=30, speed=8.0, var_m2=1.0, t0=3.0)
        wrong = [g for g in engine.geometry[calls:] if abs(g[1]) > math.radians(30.0)]
        return loc.health().frames_skipped, len(wrong)

    skipped, wrong = run(1.0)
    assert skipped['heading_disagrees_gnss'] > 10
    assert wrong <= 2  # the frame or two before the track's heading disagrees by 3 sigma
    skipped_off, wrong_off = run(0.0)
    assert 'heading_disagrees_gnss' not in skipped_off
    assert wrong_off > 10  # without the check the engine searches around the wrong heading


def test_odometry_is_fused():
    loc = make()
    loc.on_gnss(fix(0.0))
    out = loc.on_odometry(OdometrySample(int(0.05e9), 5.0, 0.0, 0.01, 1e-4))
    assert out.estimate is not None and loc.health().odometry_used == 1
    bad = loc.on_odometry(OdometrySample(int(0.06e9), float('nan'), 0.0))
    assert bad.estimate is not None and np.all(np.isfinite(bad.estimate.xy_enu_m))
    assert loc.health().odometry_used == 1


OFFSET_M = 30.0


def test_confidently_wrong_network_does_not_capture_the_filter():
    """A network that always points at a 'parallel street' 30 m north of the truth, with good
    GNSS (2 m sigma): the filter is not captured - it stays far closer to the truth than to the
    wrong peak. Known limit, measured: with the default grid temperature (0.25) and GNSS bias
    state (3 m) a wrong peak that persists every frame still pulls the estimate about 5.7 m
    (30 m offset) or 10 m (15 m offset); real confusions are intermittent (development drives
    improved 6.0 -> 1.0 m mean with these settings). A consistency guard is a follow-up."""
    engine = HeadingEngine()
    tiles = GeoTiles(engine)
    loc = make(engine, tiles, network_max_yaw_std_deg=180.0)
    loc.camera = CAMERA
    errors = []
    for i in range(60):
        t = 0.1 * i
        truth = np.array([5.0 * t, 0.0])
        engine.target_enu = truth + [0.0, OFFSET_M]
        loc.on_gnss(fix(t, east=truth[0], var_m2=4.0))
        out = loc.on_image(int((t + 0.05) * 1e9), IMG)
        errors.append(np.linalg.norm(out.estimate.xy_enu_m - truth))
    assert np.mean(errors[20:]) < 0.3 * OFFSET_M, errors
    assert GROUND_M / N < OFFSET_M  # the wrong peak is cells away, not in the right cell


def test_fixes_do_not_wait_for_inference():
    """While the engine is busy, on_gnss from another thread completes (bounded waits)."""
    engine = HeadingEngine()
    loc = make(
        engine, GeoTiles(engine), network_max_yaw_std_deg=180.0, network_confirm_heading_deg=0.0
    )  # the engine runs from the first frame
    loc.camera = CAMERA
    drive_east(loc, n=5)
    engine.gate, engine.entered = threading.Event(), threading.Event()
    worker = threading.Thread(target=loc.on_image, args=(int(0.55e9), IMG))
    worker.start()
    assert engine.entered.wait(10.0), 'inference never started'
    done = threading.Event()
    threading.Thread(target=lambda: (loc.on_gnss(fix(0.6, east=3.0)), done.set())).start()
    assert done.wait(10.0), 'a fix waited for inference'
    engine.gate.set()
    worker.join(10.0)
    assert not worker.is_alive()
    assert loc.health().frames_with_network == 6
    assert FRAME is not None


def test_reinitialize_and_reset_are_operator_commands():
    engine = HeadingEngine()
    loc = make(engine, GeoTiles(engine), network_max_yaw_std_deg=180.0)
    loc.camera = CAMERA
    drive_east(loc, n=5)
    out = loc.reinitialize(int(0.6e9), np.array([40.0, 5.0]), np.eye(2), 0.5, 0.01)
    assert np.linalg.norm(out.estimate.xy_enu_m - [40.0, 5.0]) < 1.0
    assert ('reinit', 'initial pose') in [(e.kind, e.reason) for e in out.events]
    loc.reset()
    assert loc.on_image(int(0.7e9), IMG).estimate is None  # waits for the next fix
    assert loc.on_gnss(fix(0.8)).estimate is not None


class _Track:
    """A filter stand-in for frame_geometry: only the GNSS fix track's heading, as given."""

    def __init__(self, heading):
        self.heading = heading

    def gnss_heading(self, stamp_ns, max_age_s):
        return self.heading


def test_heading_must_be_confirmed_by_the_track_after_initialisation():
    """Until the fix track has confirmed the filter's heading (std and disagreement both
    within network_confirm_heading_deg), a geometry-aware engine does not run; once
    confirmed, only the looser disagreement check (max(3 sigma, 20 deg)) applies."""
    from dataclasses import replace

    from cvseq_localizer.localizer_config import LocalizerConfig
    from cvseq_localizer.localizer_frames import frame_geometry
    from cvseq_localizer.logutil import WarnThrottle

    loc = make()
    loc.on_gnss(fix(0.0))
    prior = replace(loc.filter.estimate(), yaw_rad=math.radians(30.0),
                    yaw_var_rad2=math.radians(3.0) ** 2)  # fmt: skip
    cfg, warn = LocalizerConfig(), WarnThrottle(None, 5.0)

    def skipped(track, confirmed, yaw_deg=30.0):
        p = replace(prior, yaw_rad=math.radians(yaw_deg))
        return frame_geometry(cfg, _Track(track), 0, p, CAMERA, warn, confirmed)[1]

    sure, unsure = (0.0, math.radians(12.0)), (0.0, math.radians(20.0))
    assert skipped(sure, True) == ''  # 30 deg is inside 3 sigma: not a disagreement
    assert skipped(sure, False) == 'heading_unconfirmed'  # but not a confirmation either
    assert skipped(sure, False, yaw_deg=5.0) == ''
    assert skipped(unsure, False, yaw_deg=5.0) == 'heading_unconfirmed'
    assert skipped(None, False, yaw_deg=5.0) == 'heading_unconfirmed'
    off = replace(cfg, network_confirm_heading_deg=0.0)
    assert frame_geometry(off, _Track(None), 0, prior, CAMERA, warn, False)[1] == ''


def test_initial_pose_heading_counts_as_confirmed_when_certain():
    def first_skip(yaw_std_deg, confirm_deg=15.0):
        engine = HeadingEngine()
        loc = make(engine, GeoTiles(engine), network_confirm_heading_deg=confirm_deg)
        loc.camera = CAMERA
        loc.on_gnss(fix(0.0))
        loc.reinitialize(int(0.05e9), np.zeros(2), np.eye(2), 0.0, math.radians(yaw_std_deg) ** 2)
        return loc.on_image(int(0.1e9), IMG).network_skipped

    assert first_skip(8.0) == ''
    assert first_skip(8.0, confirm_deg=5.0) == 'heading_unconfirmed'


class AcquiringEngine(HeadingEngine):
    """HeadingEngine that can also acquire the heading: answers ``yaw_rad`` (std 3 deg) and
    records the position prior it was given, or answers None when ``ambiguous``."""

    def __init__(self, tiles=None, yaw_rad=0.0):
        super().__init__(tiles, yaw_rad)
        self.acquired = []
        self.ambiguous = False

    def acquire_heading(self, ground, feats, *, camera, prior_rc_px, prior_sigma_px):
        self.acquired.append((prior_rc_px, prior_sigma_px))
        if self.ambiguous:
            return None
        cand = np.array([self.yaw_rad])
        return HeadingEvidence(self.yaw_rad, math.radians(3.0) ** 2, cand, np.ones(1))


def test_an_uncertain_heading_is_acquired_from_the_camera_at_most_once_per_interval():
    def run(**cfg):
        engine = AcquiringEngine(yaw_rad=1.2)
        loc = make(engine, GeoTiles(engine), **cfg)
        loc.camera = CAMERA
        loc.on_gnss(fix(0.0))  # at rest: no heading from GNSS
        skips = [loc.on_image(int(t * 1e9), IMG).network_skipped for t in (0.1, 0.2, 1.2)]
        return engine, loc, skips

    engine, loc, skips = run()
    assert skips[0] == 'heading_acquired' and len(engine.acquired) >= 1
    est = loc.filter.estimate()
    assert abs(est.yaw_rad - 1.2) < math.radians(5.0) and est.yaw_var_rad2 < math.radians(8) ** 2
    # the prior is the fix at the tile's pixel; its std in pixels
    (r, c), sigma_px = engine.acquired[0]
    assert np.isfinite(r) and np.isfinite(c) and sigma_px > 0
    # acquired, the heading is certain enough for a step and the answer confirms it: the
    # engine runs on the next frame with the acquired heading as its prior ...
    assert skips[1:] == ['', ''] and len(engine.geometry) == 2
    assert abs(engine.geometry[0][1] - 1.2) < math.radians(5.0)
    # ... unless only the fix track may confirm (it has not: the car is parked)
    engine, loc, skips = run(heading_acquire_confirms=False)
    assert skips[0] == 'heading_acquired'
    assert skips[1] == 'heading_unconfirmed' and not engine.geometry
    # a certain heading that needs no confirmation steps, and is never re-acquired
    engine, loc, skips = run(heading_acquire_confirms=False, network_confirm_heading_deg=0.0)
    assert skips == ['heading_acquired', '', ''] and len(engine.acquired) == 1
    # ambiguous answers are counted, rate-limited (1 s) and fuse nothing
    engine2 = AcquiringEngine()
    engine2.ambiguous = True
    loc2 = make(engine2, GeoTiles(engine2))
    loc2.camera = CAMERA
    loc2.on_gnss(fix(0.0))
    skips2 = [loc2.on_image(int(t * 1e9), IMG).network_skipped for t in (0.1, 0.2, 1.2)]
    assert skips2 == ['heading_ambiguous', 'heading_uncertain', 'heading_ambiguous']
    assert len(engine2.acquired) == 2
    # switched off: never asked
    engine, loc, skips = run(heading_acquire_interval_s=0.0)
    assert not engine.acquired and skips == ['heading_uncertain'] * 3
