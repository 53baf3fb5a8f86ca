"""Hidden-state and tile policy of the Localizer (recording engine, lattice of tiles)."""

from dataclasses import dataclass

import numpy as np
import pytest

from cvseq_localizer.geo import GeoImage, LocalFrame, ground_resolution, latlon_to_world_px
from cvseq_localizer.localizer import Localizer, LocalizerConfig
from cvseq_localizer.runtime.engine import EngineOutput
from cvseq_localizer.types import COVARIANCE_TYPE_DIAGONAL_KNOWN, STATUS_NO_FIX, GnssFix

LAT0, LON0 = 49.011, 8.417
N = 8
S = 64
GROUND_M = 40.0


@dataclass
class Covering:
    geo: object
    cell_index: tuple
    reason: str = ''


@dataclass
class TileCfg:
    ground_m: float = GROUND_M
    grid_n: int = N


class LatticeTiles:
    """Tiles on a lattice of one cell, as the real service snaps them (blank imagery)."""

    def __init__(self, available=True):
        self.config = TileCfg()
        self.available = available
        east, north = ground_resolution(LAT0, 20)
        self.step = (GROUND_M / N / east, GROUND_M / N / north)
        self.queries = 0

    def covering(self, lat, lon, deadline_s=None):
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
        return Covering(GeoImage(np.zeros((S, S, 3), np.uint8), 20, origin, scale), cell)


class RecordingEngine:
    """Points all probability at the cell containing a target ENU position."""

    grid_n = N
    temporal = True
    sat_size = S
    metadata: dict = {}

    def __init__(self):
        self.calls = []
        self.target_enu = np.zeros(2)
        self.frame = LocalFrame(LAT0, LON0)
        self.geo = None

    def encode_satellite(self, tile):
        self.calls.append(('encode',))
        return 'feats'

    def step(self, ground, feats, hidden):
        self.calls.append(('step', hidden))
        prob = np.full((N, N), 1e-6)
        return EngineOutput(prob / prob.sum(), np.full((N, N, 2), 0.5), len(self.calls))

    def shift_hidden(self, hidden, d_row, d_col):
        self.calls.append(('shift', d_row, d_col))
        return ('shifted', hidden)


def fix(t_s, east=0.0, north=0.0, status=0):
    frame = LocalFrame(LAT0, LON0)
    lat, lon, _ = frame.to_geodetic(east, north)
    cov = np.diag([4.0, 4.0, 9.0])
    return GnssFix(int(t_s * 1e9), float(lat), float(lon), 0.0, cov,
                   COVARIANCE_TYPE_DIAGONAL_KNOWN, status)  # fmt: skip


def make(engine=None, tiles=None, **cfg):
    config = LocalizerConfig(datum_lat_deg=LAT0, datum_lon_deg=LON0, **cfg)
    return Localizer(config, engine, tiles, np.random.default_rng(0))


IMG = np.zeros((32, 64, 3), np.uint8)


def test_no_estimate_before_first_fix_and_unusable_fixes():
    loc = make(RecordingEngine(), LatticeTiles())
    assert loc.on_image(0, IMG) is None
    bad = GnssFix(1, float('nan'), 8.0)
    assert loc.on_gnss(1, bad) is None
    assert loc.on_gnss(2, fix(0, status=STATUS_NO_FIX)) is None
    assert loc.stats.fixes_unusable == 2
    est = loc.on_gnss(3, fix(0.0))
    assert est is not None and abs(est.lat_deg - LAT0) < 1e-4


def test_hidden_kept_on_same_tile_and_shifted_by_whole_cells():
    engine, tiles = RecordingEngine(), LatticeTiles()
    loc = make(engine, tiles, converged_std_m=0.0)  # tile follows the last fix
    loc.on_gnss(0, fix(0.0))
    loc.on_image(int(0.05e9), IMG)
    loc.on_image(int(0.1e9), IMG)
    steps = [c for c in engine.calls if c[0] == 'step']
    assert steps[0][1] is None and steps[1][1] == 2  # the state from the first step came back
    # Move 3 cells east and 2 north: past the recentring threshold (0.25 * 40 m = 10 m).
    cell = GROUND_M / N
    loc.on_gnss(int(0.2e9), fix(0.2, east=3 * cell + 0.1, north=2 * cell + 0.1))
    loc.on_image(int(0.25e9), IMG)
    shifts = [c for c in engine.calls if c[0] == 'shift']
    assert shifts == [('shift', -2, 3)]
    assert loc.stats.hidden_shifts == 1 and loc.stats.tiles_encoded == 2


def test_small_moves_keep_the_tile():
    engine, tiles = RecordingEngine(), LatticeTiles()
    loc = make(engine, tiles, converged_std_m=0.0)
    loc.on_gnss(0, fix(0.0))
    for i in range(5):
        loc.on_gnss(int((i + 1) * 0.1e9), fix(0.1 * (i + 1), east=1.0 * i))
        loc.on_image(int((i + 1) * 0.1e9) + 1, IMG)
    assert loc.stats.tiles_encoded == 1 and tiles.queries == 1


def test_reset_after_time_gap_and_big_jump():
    engine, tiles = RecordingEngine(), LatticeTiles()
    loc = make(engine, tiles, converged_std_m=0.0, hidden_reset_gap_s=1.0)
    loc.on_gnss(0, fix(0.0))
    loc.on_image(int(0.1e9), IMG)
    loc.on_image(int(0.2e9), IMG)
    loc.on_gnss(int(3e9), fix(3.0))
    loc.on_image(int(3e9), IMG)  # 2.8 s gap
    assert loc.stats.hidden_resets['time_gap'] == 1
    assert [c for c in engine.calls if c[0] == 'step'][-1][1] is None
    loc.on_image(int(3.1e9), IMG)
    loc.on_gnss(int(3.2e9), fix(3.2, east=5 * GROUND_M))  # far more than N cells
    loc.on_gnss(int(3.3e9), fix(3.3, east=5 * GROUND_M))
    loc.on_gnss(int(3.4e9), fix(3.4, east=5 * GROUND_M))
    loc.on_image(int(3.5e9), IMG)
    assert loc.stats.hidden_resets['tile_jump'] + loc.stats.hidden_resets['reinit'] >= 1
    assert [c for c in engine.calls if c[0] == 'step'][-1][1] is None


def test_gnss_only_without_engine_or_tiles():
    for engine, tiles in [(None, LatticeTiles()), (RecordingEngine(), LatticeTiles(False))]:
        loc = make(engine, tiles)
        loc.on_gnss(0, fix(0.0))
        est = loc.on_image(int(0.1e9), IMG)
        assert est is not None and est.gnss_only
        assert np.all(np.isfinite(est.xy_enu_m))
    assert loc.stats.frames_without_tile == 1


@pytest.mark.parametrize('east', [0.0, 7.0])
def test_network_points_are_georeferenced(east):
    engine, tiles = RecordingEngine(), LatticeTiles()
    loc = make(engine, tiles, converged_std_m=0.0)
    loc.on_gnss(0, fix(0.0, east=east))
    loc.on_image(int(0.1e9), IMG)
    belief = loc.last_belief
    pts = belief.points_enu(loc.frame)
    # The grid spans the tile: cell centres are one cell apart and centred on the lattice tile.
    assert np.allclose(np.diff(pts[:N, 0]), GROUND_M / N, rtol=1e-3)
    assert abs(pts[:, 0].mean() - east) <= GROUND_M / N / 2 + 1e-6


def test_clock_jump_back_does_not_crash():
    engine, tiles = RecordingEngine(), LatticeTiles()
    loc = make(engine, tiles)
    loc.on_gnss(int(10e9), fix(10.0))
    assert loc.on_image(int(10.1e9), IMG) is not None
    assert loc.on_image(int(2e9), IMG) is None  # filter reset by the jump, no crash
    assert loc.on_gnss(int(2.1e9), fix(2.1)) is not None
    assert loc.on_image(int(2.2e9), IMG) is not None


def test_training_prior_is_divided_out():
    """A network that only repeats its training prior (a Gaussian around the tile centre) carries
    no evidence: after the correction its cell weights are flat within the cap."""
    engine, tiles = RecordingEngine(), LatticeTiles()
    engine.metadata = {'offset_sigma_m': 8.0}
    loc = make(engine, tiles, converged_std_m=0.0, prior_cap_sigmas=10.0)
    loc.on_gnss(0, fix(0.0))
    loc.on_image(int(0.1e9), IMG)
    tile = loc._tile
    points = loc.last_belief.points_enu(loc.frame)
    d2 = np.sum((points - tile.center_enu_m) ** 2, axis=1)
    prior = np.exp(-d2 / (2 * 8.0**2))
    weights = loc._likelihood_weights(points, tile, prior / prior.sum())
    np.testing.assert_allclose(weights, np.full(N * N, 1.0 / (N * N)), rtol=1e-9)
    loc.config.prior_correction = False
    assert not np.allclose(loc._likelihood_weights(points, tile, prior / prior.sum()), 1 / N**2)


def test_network_waits_for_recent_gnss():
    engine, tiles = RecordingEngine(), LatticeTiles()
    loc = make(engine, tiles, network_needs_gnss_s=1.0)
    loc.on_gnss(0, fix(0.0))
    loc.on_image(int(0.5e9), IMG)
    assert loc.stats.frames_with_network == 1
    loc.on_image(int(1.6e9), IMG)  # the last fix is 1.6 s old: GNSS outage, no network
    assert loc.stats.frames_with_network == 1 and loc.stats.frames_uncertain == 1
    loc.on_gnss(int(1.7e9), fix(1.7))
    loc.on_image(int(1.8e9), IMG)
    assert loc.stats.frames_with_network == 2
