"""Hidden-state, tile and network policy of the Localizer (recording engine, lattice of tiles)."""

from dataclasses import dataclass

import numpy as np
import pytest

from cvseq_localizer.filter import divide_centre_prior
from cvseq_localizer.geo import GeoImage, LocalFrame, ground_resolution, latlon_to_world_px
from cvseq_localizer.localizer import Localizer, LocalizerConfig
from cvseq_localizer.runtime.engine import EngineOutput, InferenceEngine
from cvseq_localizer.tile_provider import TileProvider
from cvseq_localizer.types import COVARIANCE_TYPE_DIAGONAL_KNOWN, STATUS_NO_FIX, GnssFix

LAT0, LON0 = 49.011, 8.417
N = 8
S = 64
GROUND_M = 40.0
FRAME = LocalFrame(LAT0, LON0)


@dataclass
class Covering:
    geo: object
    cell_index: tuple
    reason: str = ''


class LatticeTiles:
    """Tiles on a lattice of one cell, as the real service snaps them (blank imagery)."""

    ground_m = GROUND_M

    def __init__(self, available=True):
        self.available = available
        east, north = ground_resolution(LAT0, 20)
        self.step = (GROUND_M / N / east, GROUND_M / N / north)
        self.queries = 0
        self.prefetches = []
        self.closed = False

    def covering(self, lat, lon):
        self.queries += 1
        x, y = latlon_to_world_px(lat, lon, 20)
        cell = (round(float(y) / self.step[1]), round(float(x) / self.step[0]))
        if not self.available:
            return Covering(None, cell, 'offline')
        scale = (self.step[0] * N / S, self.step[1] * N / S)
        origin = (
            cell[1] * self.step[0] - S / 2 * scale[0],
            cell[0] * self.step[1] - S / 2 * scale[1],
        )
        # The engine sees only pixels; the blank image carries the georeference for it.
        geo = GeoImage(np.zeros((S, S, 3), np.uint8), 20, origin, scale)
        return Covering(geo, cell)

    def prefetch(self, lat, lon):
        self.prefetches.append((lat, lon))

    def health(self):
        return {'queries': self.queries}

    def close(self):
        self.closed = True


class RecordingEngine:
    """Records its calls; with ``target_enu`` set, puts all probability on the cell containing
    that ENU position (uniform otherwise)."""

    name = 'recording'
    grid_n = N
    temporal = True
    needs_camera = False
    sat_size = S
    offset_sigma_m = 0.0
    sat_ground_m = GROUND_M
    metadata: dict = {}

    def __init__(self, tiles=None):
        self.calls = []
        self.target_enu = None
        self.tiles = tiles
        self.geo = None

    def encode_satellite(self, tile):
        self.calls.append(('encode',))
        return 'feats'

    def step(self, ground, feats, hidden):
        self.calls.append(('step', hidden))
        prob = np.full((N, N), 1.0)
        if self.target_enu is not None and self.geo is not None:
            u, v = self.geo.enu_to_pixel(self.target_enu[0], self.target_enu[1], FRAME)
            row, col = int(float(v) // (S / N)), int(float(u) // (S / N))
            if 0 <= row < N and 0 <= col < N:
                prob[:] = 1e-9
                prob[row, col] = 1.0
        return EngineOutput(prob / prob.sum(), np.full((N, N, 2), 0.5), len(self.calls))

    def shift_hidden(self, hidden, d_row, d_col):
        self.calls.append(('shift', d_row, d_col))
        return ('shifted', hidden)


class GeoTiles(LatticeTiles):
    """Tells the engine which tile it is encoding (a real engine reads it from the pixels)."""

    def __init__(self, engine):
        super().__init__()
        self.engine = engine

    def covering(self, lat, lon):
        answer = super().covering(lat, lon)
        self.engine.geo = answer.geo
        return answer


def fix(t_s, east=0.0, north=0.0, status=0, var_m2=4.0):
    lat, lon, _ = FRAME.to_geodetic(east, north)
    cov = np.diag([var_m2, var_m2, 9.0])
    return GnssFix(int(t_s * 1e9), float(lat), float(lon), 0.0, cov,
                   COVARIANCE_TYPE_DIAGONAL_KNOWN, status)  # fmt: skip


def make(engine=None, tiles=None, **cfg):
    cfg.setdefault('datum_min_fixes', 1)  # these tests are about what follows the first fix
    config = LocalizerConfig(datum_lat_deg=LAT0, datum_lon_deg=LON0, **cfg)
    return Localizer(config, engine, tiles, np.random.default_rng(0))


IMG = np.zeros((32, 64, 3), np.uint8)


def test_fakes_satisfy_the_protocols():
    tiles = LatticeTiles()
    assert isinstance(RecordingEngine(), InferenceEngine) and isinstance(tiles, TileProvider)


def test_no_estimate_before_first_fix_and_unusable_fixes():
    loc = make(RecordingEngine(), LatticeTiles())
    first = loc.on_image(0, IMG)
    assert first.estimate is None and first.network_skipped == 'no_position'
    assert loc.on_gnss(GnssFix(1, float('nan'), 8.0)).estimate is None
    assert loc.on_gnss(fix(0, status=STATUS_NO_FIX)).estimate is None
    assert loc.health().fixes_unusable == 2
    out = loc.on_gnss(fix(0.0))
    assert out.stamp_ns == 0 and abs(out.estimate.lat_deg - LAT0) < 1e-4
    assert out.belief is None and out.events == ()


def test_output_carries_the_belief_network_position_and_altitude():
    engine, tiles = RecordingEngine(), LatticeTiles()
    loc = make(engine, tiles, converged_std_m=0.0)
    lat, lon, _ = FRAME.to_geodetic(0.0, 0.0)
    loc.on_gnss(GnssFix(0, float(lat), float(lon), 123.5, np.diag([4.0, 4.0, 9.0]),
                        COVARIANCE_TYPE_DIAGONAL_KNOWN))  # fmt: skip
    out = loc.on_image(int(0.1e9), IMG)
    assert out.stamp_ns == int(0.1e9) and out.estimate.stamp_ns == int(0.1e9)
    assert out.belief is not None and out.belief.stamp_ns == int(0.1e9)
    np.testing.assert_allclose(out.network_xy_enu_m, out.belief.argmax_enu(loc.frame))
    lat_n, lon_n, _ = loc.frame.to_geodetic(*out.network_xy_enu_m)
    np.testing.assert_allclose(out.network_latlon_deg, (lat_n, lon_n))
    assert out.alt_m == 123.5 and out.network_skipped == ''


def test_hidden_kept_on_same_tile_and_shifted_by_whole_cells():
    engine, tiles = RecordingEngine(), LatticeTiles()
    loc = make(engine, tiles, converged_std_m=0.0)  # tile follows the last fix
    loc.on_gnss(fix(0.0))
    loc.on_image(int(0.05e9), IMG)
    loc.on_image(int(0.1e9), IMG)
    steps = [c for c in engine.calls if c[0] == 'step']
    assert steps[0][1] is None and steps[1][1] == 2  # the state from the first step came back
    # Move 3 cells east and 2 north: past the recentring threshold (0.25 * 40 m = 10 m).
    cell = GROUND_M / N
    loc.on_gnss(fix(0.2, east=3 * cell + 0.1, north=2 * cell + 0.1))
    loc.on_image(int(0.25e9), IMG)
    shifts = [c for c in engine.calls if c[0] == 'shift']
    assert shifts == [('shift', -2, 3)]
    health = loc.health()
    assert health.hidden_shifts == 1 and health.tiles_encoded == 2


def test_small_moves_keep_the_tile_and_fixes_prefetch():
    engine, tiles = RecordingEngine(), LatticeTiles()
    loc = make(engine, tiles, converged_std_m=0.0)
    loc.on_gnss(fix(0.0))
    assert tiles.prefetches == []  # no tile yet: the first covering query anchors the lattice
    loc.on_image(1, IMG)
    for i in range(5):
        f = fix(0.1 * (i + 1), east=1.0 * i)
        loc.on_gnss(f)
        assert tiles.prefetches[-1] == (f.lat_deg, f.lon_deg)
        loc.on_image(f.stamp_ns + 1, IMG)
    assert loc.health().tiles_encoded == 1 and tiles.queries == 1


def test_reset_after_time_gap_and_big_jump_are_reported():
    engine, tiles = RecordingEngine(), LatticeTiles()
    loc = make(engine, tiles, converged_std_m=0.0, hidden_reset_gap_s=1.0)
    loc.on_gnss(fix(0.0))
    loc.on_image(int(0.1e9), IMG)
    assert loc.on_image(int(0.2e9), IMG).events == ()
    loc.on_gnss(fix(3.0))
    out = loc.on_image(int(3e9), IMG)  # 2.8 s gap
    assert [(e.kind, e.reason) for e in out.events] == [('hidden_reset', 'time_gap')]
    assert loc.health().hidden_resets == {'time_gap': 1}
    assert [c for c in engine.calls if c[0] == 'step'][-1][1] is None
    loc.on_image(int(3.1e9), IMG)
    events = []
    for t in (3.2, 3.3, 3.4):  # far more than N cells
        events += loc.on_gnss(fix(t, east=5 * GROUND_M)).events
    events += loc.on_image(int(3.5e9), IMG).events
    reasons = {e.reason for e in events if e.kind == 'hidden_reset'}
    assert reasons & {'tile_jump', 'reinit'}
    assert [c for c in engine.calls if c[0] == 'step'][-1][1] is None


def test_gnss_only_without_engine_or_tiles():
    for engine, tiles in [(None, LatticeTiles()), (RecordingEngine(), None)]:
        loc = make(engine, tiles)
        assert not loc.network_enabled and not loc.health().network_enabled
        loc.on_gnss(fix(0.0))
        out = loc.on_image(int(0.1e9), IMG)
        assert out.estimate.gnss_only and out.network_skipped == 'gnss_only'
        assert out.belief is None and np.all(np.isfinite(out.estimate.xy_enu_m))


def test_missing_tile_skips_the_network():
    loc = make(RecordingEngine(), LatticeTiles(available=False))
    loc.on_gnss(fix(0.0))
    out = loc.on_image(int(0.1e9), IMG)
    assert out.network_skipped == 'no_tile' and out.belief is None
    health = loc.health()
    assert health.frames_without_tile == 1 and health.last_tile_reason == 'offline'


def test_without_a_fresh_answer_the_current_tile_keeps_serving_near_its_centre():
    engine, tiles = RecordingEngine(), LatticeTiles()
    loc = make(engine, tiles, converged_std_m=0.0, stale_tile_max_fraction=0.4)
    loc.on_gnss(fix(0.0))
    first = loc.on_image(int(0.1e9), IMG).belief
    tiles.available = False  # e.g. not in the source, or not ready within the deadline
    loc.on_gnss(fix(0.2, east=15.0))  # past the re-centring threshold: asks for a new tile
    out = loc.on_image(int(0.25e9), IMG)
    assert tiles.queries == 2 and out.belief is not None and out.belief.geo is first.geo
    assert loc.health().tiles_encoded == 1 and loc.health().last_tile_reason == 'offline'
    # ... but not once the car is near the tile's edge (stale_tile_max_fraction)
    loc.on_gnss(fix(0.3, east=0.45 * GROUND_M))
    out = loc.on_image(int(0.35e9), IMG)
    assert out.network_skipped == 'no_tile' and out.belief is None
    tiles.available = True  # the source answers again: a fresh tile serves
    out = loc.on_image(int(0.45e9), IMG)
    assert out.belief is not None and out.belief.geo is not first.geo


@pytest.mark.parametrize('east', [0.0, 7.0])
def test_network_points_are_georeferenced(east):
    engine, tiles = RecordingEngine(), LatticeTiles()
    loc = make(engine, tiles, converged_std_m=0.0)
    loc.on_gnss(fix(0.0, east=east))
    belief = loc.on_image(int(0.1e9), IMG).belief
    pts = belief.points_enu(loc.frame)
    # The grid spans the tile: cell centres are one cell apart and centred on the lattice tile.
    assert np.allclose(np.diff(pts[:N, 0]), GROUND_M / N, rtol=1e-3)
    assert abs(pts[:, 0].mean() - east) <= GROUND_M / N / 2 + 1e-6


def test_network_peak_pulls_the_estimate_towards_it():
    """Same fixes, same seed: with the network pointing 7 m east of the fixes, the estimate moves
    east (and the network's own position is the target's cell)."""
    target = np.array([7.0, 0.0])

    def run(point: bool) -> tuple[np.ndarray, object]:
        engine = RecordingEngine()
        loc = make(engine, GeoTiles(engine), converged_std_m=0.0, network_max_std_m=50.0)
        engine.target_enu = target if point else None
        out = None
        for i in range(10):
            loc.on_gnss(fix(0.1 * i, var_m2=25.0))
            out = loc.on_image(int((0.1 * i + 0.05) * 1e9), IMG)
        return out.estimate.xy_enu_m, out

    flat_xy, _ = run(point=False)
    peak_xy, out = run(point=True)
    assert np.linalg.norm(out.network_xy_enu_m - target) < GROUND_M / N
    assert peak_xy[0] - flat_xy[0] > 1.0, (flat_xy, peak_xy)
    assert abs(peak_xy[0] - target[0]) < abs(flat_xy[0] - target[0])


def test_clock_jump_back_does_not_crash():
    engine, tiles = RecordingEngine(), LatticeTiles()
    loc = make(engine, tiles)
    loc.on_gnss(fix(10.0))
    assert loc.on_image(int(10.1e9), IMG).estimate is not None
    back = loc.on_image(int(2e9), IMG)  # filter reset by the jump, no crash
    assert back.estimate is None
    assert [(e.kind, e.reason) for e in back.events] == [
        ('reinit', 'clock jumped back'),
        ('hidden_reset', 'reinit'),
    ]
    assert loc.on_gnss(fix(2.1)).estimate is not None
    assert loc.on_image(int(2.2e9), IMG).estimate is not None


def test_training_prior_is_divided_out():
    """A network that only repeats its training prior (a Gaussian around the tile centre) carries
    no evidence: after the correction its cell weights are flat within the cap."""
    rng = np.random.default_rng(1)
    points = rng.uniform(-20, 20, (N * N, 2))
    center = np.array([1.0, -2.0])
    d2 = np.sum((points - center) ** 2, axis=1)
    prior = np.exp(-d2 / (2 * 8.0**2))
    weights = divide_centre_prior(prior / prior.sum(), points, center, 8.0, 10.0)
    np.testing.assert_allclose(weights, np.full(N * N, 1.0 / (N * N)), rtol=1e-9)
    capped = divide_centre_prior(prior / prior.sum(), points, center, 8.0, 1.0)
    inside = d2 <= 8.0**2
    assert np.allclose(capped[inside], capped[inside][0]) and not np.allclose(capped, capped[0])
    unknown = prior / prior.sum()
    assert divide_centre_prior(unknown, points, center, 0.0, 2.5) is unknown


def test_localizer_divides_the_engines_prior():
    """The engine's ``offset_sigma_m`` reaches the filter: a network that only repeats its
    training prior then moves the estimate exactly as a flat (uninformative) network does."""

    class PriorEngine(RecordingEngine):
        offset_sigma_m = 8.0

        def step(self, ground, feats, hidden):
            out = super().step(ground, feats, hidden)
            pts = np.stack(np.meshgrid(np.arange(N), np.arange(N), indexing='ij'), -1)
            d2 = np.sum((pts - (N - 1) / 2) ** 2, axis=-1) * (GROUND_M / N) ** 2
            prob = np.exp(-d2 / (2 * 8.0**2))
            return EngineOutput(prob / prob.sum(), out.offsets, out.hidden)

    def run(engine, **cfg):
        loc = make(engine, LatticeTiles(), converged_std_m=0.0, prior_cap_sigmas=10.0, **cfg)
        loc.on_gnss(fix(0.0, east=3.0, var_m2=25.0))
        return loc.on_image(int(0.1e9), IMG).estimate.xy_enu_m

    flat = run(RecordingEngine())
    corrected = run(PriorEngine())
    uncorrected = run(PriorEngine(), prior_correction=False)
    # Without the correction the prior pulls the estimate towards the tile centre.
    assert np.linalg.norm(corrected - flat) < 1e-3, (corrected, flat)
    assert np.linalg.norm(uncorrected - flat) > 0.1, (uncorrected, flat)


def test_network_waits_for_recent_gnss():
    engine, tiles = RecordingEngine(), LatticeTiles()
    loc = make(engine, tiles, network_needs_gnss_s=1.0, network_max_std_m=1e3)
    loc.on_gnss(fix(0.0))
    loc.on_image(int(0.5e9), IMG)
    assert loc.health().frames_with_network == 1
    out = loc.on_image(int(1.6e9), IMG)  # the last fix is 1.6 s old: GNSS outage, no network
    assert out.network_skipped == 'gnss_stale' and out.belief is None
    health = loc.health()
    assert health.frames_with_network == 1 and health.frames_uncertain == 1
    loc.on_gnss(fix(1.7))
    loc.on_image(int(1.8e9), IMG)
    assert loc.health().frames_with_network == 2


def test_health_is_a_frozen_snapshot_and_close_closes_the_tiles():
    tiles = LatticeTiles()
    loc = make(RecordingEngine(), tiles)
    loc.on_gnss(fix(0.0))
    loc.on_image(int(0.1e9), IMG)
    health = loc.health()
    assert health.engine_info['grid_n'] == N and health.tiles == {'queries': 1}
    with pytest.raises(AttributeError):
        health.frames = 0
    loc.on_image(int(0.2e9), IMG)
    assert health.frames == 1 and loc.health().frames == 2
    loc.close()
    assert tiles.closed
