"""Fuzzing the Localizer with hostile fixes and frames: nothing escapes, no estimate has NaN.

The Localizer API is changing (issue 11): the two adapters below are the only calls into it.
"""

import inspect
import math
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvseq_localizer.geo import GeoImage, ground_resolution, latlon_to_world_px
from cvseq_localizer.localizer import Localizer, LocalizerConfig
from cvseq_localizer.runtime.engine import EngineOutput
from cvseq_localizer.runtime.preprocess import preprocess_ground
from cvseq_localizer.types import GnssFix

LAT0, LON0, N = 49.011, 8.417, 8


def feed_fix(loc: Localizer, fix: GnssFix):
    """Adapter: ``on_gnss(fix)`` (issue 11) or the older ``on_gnss(stamp_ns, fix)``."""
    if len(inspect.signature(loc.on_gnss).parameters) == 1:
        return loc.on_gnss(fix)
    return loc.on_gnss(fix.stamp_ns, fix)


def feed_image(loc: Localizer, stamp_ns: int, image: np.ndarray):
    """Adapter: ``on_image(stamp_ns, image_rgb)``."""
    return loc.on_image(stamp_ns, image)


def estimate_of(out):
    """The Estimate in a Localizer answer (``LocalizerOutput.estimate`` or a bare Estimate)."""
    return getattr(out, 'estimate', out)


class PreprocessingEngine:
    """Runs the real preprocessing (the part that meets hostile frames), uniform output."""

    grid_n, temporal, sat_size, metadata = N, False, 64, {}

    def encode_satellite(self, tile):
        return 'feats'

    def step(self, ground, feats, hidden):
        preprocess_ground(ground, (32, 64), (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
        return EngineOutput(np.full((N, N), 1.0 / N**2), np.full((N, N, 2), 0.5), None)

    def shift_hidden(self, hidden, d_row, d_col):
        return hidden


@dataclass
class Covering:
    geo: object
    cell_index: tuple
    reason: str = ''


class BlankTiles:
    """Blank 64-px tiles of 40 m on a lattice of one cell (as test/localizer's fake)."""

    config = SimpleNamespace(ground_m=40.0, grid_n=N)

    def __init__(self) -> None:
        east, north = ground_resolution(LAT0, 20)
        self.step = (40.0 / N / east, 40.0 / N / north)

    def covering(self, lat, lon, deadline_s=None):
        x, y = latlon_to_world_px(lat, lon, 20)
        cell = (round(float(y) / self.step[1]), round(float(x) / self.step[0]))
        scale = (self.step[0] * N / 64, self.step[1] * N / 64)
        origin = (cell[1] * self.step[0] - 32 * scale[0], cell[0] * self.step[1] - 32 * scale[1])
        return Covering(GeoImage(np.zeros((64, 64, 3), np.uint8), 20, origin, scale), cell)


def make():
    config = LocalizerConfig(
        datum_lat_deg=LAT0, datum_lon_deg=LON0, network_max_std_m=1e9, network_needs_gnss_s=0.0
    )
    return Localizer(config, PreprocessingEngine(), BlankTiles(), np.random.default_rng(0))


def assert_finite(out):
    est = estimate_of(out)
    if est is not None:
        assert np.all(np.isfinite(est.xy_enu_m)) and np.all(np.isfinite(est.cov_xy_m2)), est


ANY = st.floats(allow_nan=True, allow_infinity=True)
FIXES = st.builds(
    GnssFix,
    stamp_ns=st.integers(0, 10**11),
    lat_deg=st.one_of(ANY, st.floats(LAT0 - 1e-3, LAT0 + 1e-3), st.floats(85.0, 90.0)),
    lon_deg=st.one_of(ANY, st.floats(LON0 - 1e-3, LON0 + 1e-3)),
    alt_m=ANY,
    cov_enu_m2=st.sampled_from([np.eye(3), np.full((3, 3), math.nan), -np.eye(3), np.zeros(4)]),
    cov_type=st.integers(0, 3),
    status=st.integers(-2, 3),
)
FUZZ = settings(
    max_examples=60, deadline=None, database=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)  # fmt: skip


@FUZZ
@given(st.lists(FIXES, max_size=12))
def test_fuzz_localizer_fixes(fixes):
    loc = make()
    for fix in fixes:
        assert_finite(feed_fix(loc, fix))


@FUZZ
@given(
    st.lists(
        st.tuples(st.integers(0, 10**10), st.integers(1, 40), st.integers(1, 120)), max_size=6
    )
)
def test_fuzz_localizer_frames(frames):
    loc = make()
    feed_fix(loc, GnssFix(0, LAT0, LON0, cov_enu_m2=np.eye(3), cov_type=2))
    for stamp_ns, h, w in frames:
        assert_finite(feed_image(loc, stamp_ns, np.zeros((h, w, 3), np.uint8)))
