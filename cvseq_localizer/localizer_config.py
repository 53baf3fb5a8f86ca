"""``LocalizerConfig`` (every setting of the Localizer, with meaning, unit and the measurement
behind each default) and its internal counters."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from cvseq_localizer.filter import FilterConfig
from cvseq_localizer.filter.results import FilterHealth
from cvseq_localizer.types import LocalizerHealth


@dataclass(frozen=True)
class LocalizerConfig:
    """Localizer settings (the filter's own settings are in ``filter``).

    The tile deadline belongs to the tile provider, the GNSS-only decision to whoever builds the
    Localizer (``pipeline.build_localizer``).
    """

    # ENU map-frame datum (deg, deg, m); None = automatic (a consistent set of fixes, geo.datum).
    datum_lat_deg: float | None = None
    datum_lon_deg: float | None = None
    datum_alt_m: float = 0.0
    # Automatic datum: this many fixes within 10 s must agree before it is chosen (geo.datum; 3
    # outvotes a stray first fix and costs 0.2 s at 10 Hz, 2 s at 1 Hz;
    # 1 = the first plausible fix; (0, 0) "null island" fixes never count).
    datum_min_fixes: int = 3
    # Re-centre the tile when the query position is farther than this fraction of the tile size
    # from the tile centre (per axis).
    recenter_fraction: float = 0.25
    # A tile that could not be replaced (not in the source, not ready) keeps serving only while
    # the query is within this fraction of the tile size from its centre (per axis); beyond it
    # the frame is skipped ('no_tile'). Dev drive 361 drove off the simulated map: the matcher
    # ran on a tile 30-95 m from the car and re-initialised the filter four times.
    # (Dev urban 351-380 0.86 -> 0.80 m, default 351-366 0.70 -> 0.61 m.)
    stale_tile_max_fraction: float = 0.3
    # The filter estimate (instead of the last GNSS fix) centres the tile once its position
    # standard deviation (m) is below this.
    converged_std_m: float = 4.0
    # Skip the network while the filter's position standard deviation (m, largest axis) exceeds
    # this: the vehicle may then lie outside the tile, and a confident wrong peak inside a wide
    # cloud would capture it.
    network_max_std_m: float = 10.0
    # Use the network only while a GNSS fix was used within this many seconds (0 = always;
    # None = by engine: 1 s for the perspective networks, which cannot localise on their own
    # and must not carry the filter through an outage; always for geometry-aware engines, which
    # do localise on their own and are what carries the filter through dropouts).
    network_needs_gnss_s: float | None = None
    # Geometry-aware engines search headings around the filter's; skip them while its heading
    # standard deviation exceeds this (deg): the window would not contain the true heading.
    network_max_yaw_std_deg: float = 20.0
    # ... and while the GNSS fix track (fixes within this many seconds, moving) gives a heading
    # farther than max(3 sigma, network_max_yaw_std_deg) from the filter's (0 = no check).
    # Development drive 313 (urban): a 57 deg wrong heading at start-up, confirmed frame after
    # frame by the engine searching around it, carried the fused filter 83 m off.
    network_heading_check_s: float = 1.0
    # After every (re)initialisation a geometry-aware engine waits until the fix track has
    # confirmed the filter's heading once: fresh (network_heading_check_s), moving, its std at
    # most this and the filter's heading within this of it (deg; 0, or network_heading_check_s
    # 0, = no confirmation). At a
    # standing start the cloud can be confident of a heading 30-60 deg off with the track too
    # uncertain to contradict it (development drives 313 and 327, urban: the engine then
    # matched with the wrong heading through a dropout, 10-60 m off). A heading given with
    # Localizer.reinitialize (e.g. /initialpose) this certain counts as confirmed.
    network_confirm_heading_deg: float = 15.0
    # Fuse the engine's heading output as a yaw measurement.
    use_network_heading: bool = True
    # While the heading is too uncertain for the engine (network_max_yaw_std_deg), an engine
    # that can (GeometricMatcher.acquire_heading) searches every heading on a frame at most
    # this often (s; 0 = never) and, when the answer is unambiguous, it is fused as a yaw
    # measurement. At a standing start GNSS cannot see the heading: development drives
    # 301-308 had 0.5 deg mean heading error after their first 5 s and 4.0 deg over the drive.
    heading_acquire_interval_s: float = 1.0
    # An answered acquisition stands in for the fix track's confirmation
    # (network_confirm_heading_deg), and a certain but unconfirmed heading is acquired too, so
    # the engine runs from the next frame instead of after the track has moved for seconds.
    # Development drives (fused mean / p99, m): urban 351-380 2.11 / 19.3 -> 0.86 / 14.7, urban
    # 311-346 2.01 / 18.9 -> 0.79 / 11.2, default 351-366 1.05 / 11.0 -> 0.70 / 4.4, default
    # 301-308 1.11 / 9.1 -> 0.49 / 2.1. No confirmation at all (network_confirm_heading_deg 0)
    # was as good on three sets but let urban 322 lock a 25 deg wrong heading (9.8 m mean).
    heading_acquire_confirms: bool = True
    # The engine's heading evidence is marginalised over the filter's position (a Gaussian of
    # its largest std on the tile, ``FrameGeometry.position_prior_px``) instead of over the
    # whole tile, so that an alias tens of metres away does not choose the heading.
    # Development drives, 40 s, fused mean / p99 m (with the standing-car motion guard on):
    # urban 381-410 1.21 / 10.3 -> 1.03 / 9.7, urban 311-346 0.85 / 10.6 -> 0.60 / 7.5; heading
    # after the first 5 s 0.6 -> 0.3 and 0.8 -> 0.5 deg.
    heading_position_prior: bool = True
    # With a network (which observes the absolute position) every particle also carries the
    # GNSS receiver's slowly drifting bias as a Gauss-Markov state with this std, m
    # (``FilterConfig.gnss_bias_sigma_m``; None = keep the filter's own value). Without a network
    # the bias is unobservable and the filter keeps it off. Development drives 301-304 with the
    # geometric matcher: fused mean 6.03 m (p99 41 m) without, 2.68 m (p99 9.2 m) with 3 m.
    network_gnss_bias_sigma_m: float | None = 3.0
    # Grid temperature (``FilterConfig.grid_temperature``) for geometry-aware engines, whose
    # calibrated likelihood the filter's mixture blurs (None = keep the filter's). Development
    # drives 301-304 (40 s; raw GNSS 4.66 m mean / 16.1 m p99), geometric matcher + bias state:
    # fused 2.08 / 8.4 m at 1.0, 1.72 / 7.6 m at 0.5, 1.04 / 6.2 m at 0.25.
    geometric_grid_temperature: float | None = 0.25
    # Divide the network's training centre prior out of its output (``filter.prior``), with the
    # correction capped at ``prior_cap_sigmas`` sigmas (engines without a prior: no-op).
    prior_correction: bool = True
    prior_cap_sigmas: float = 2.5
    # Reset the hidden state when consecutive frames are further apart than this (s).
    hidden_reset_gap_s: float = 2.0
    warn_period_s: float = 5.0
    filter: FilterConfig = field(default_factory=FilterConfig)


@dataclass
class LocalizerStats:
    """Counters (mutable, internal; read them through ``Localizer.health()``)."""

    fixes: int = 0
    fixes_unusable: int = 0
    fixes_held: Counter = field(default_factory=Counter)
    frames: int = 0
    frames_without_position: int = 0
    frames_with_network: int = 0
    frames_skipped: Counter = field(default_factory=Counter)
    hidden_resets: Counter = field(default_factory=Counter)
    hidden_shifts: int = 0


def build_health(
    s: LocalizerStats,
    f: FilterHealth,
    resamples: int,
    engine_info: dict | None,
    keeper: Any,
    tiles_health: Any,
) -> LocalizerHealth:
    """The Localizer's health snapshot from its counters, the filter's health and the tile
    keeper (``engine_info`` None: the network is not enabled)."""
    return LocalizerHealth(
        network_enabled=engine_info is not None,
        filter_initialized=f.initialized,
        engine_info=engine_info or {},
        fixes=s.fixes,
        fixes_unusable=s.fixes_unusable,
        fixes_accepted=f.fixes_used,
        fixes_rejected=f.fixes_rejected,
        fixes_held=dict(s.fixes_held),
        odometry_used=f.odometry_used,
        headings_used=f.headings_used,
        frames=s.frames,
        frames_without_position=s.frames_without_position,
        frames_without_tile=s.frames_skipped['no_tile'],
        frames_with_network=s.frames_with_network,
        frames_uncertain=s.frames_skipped['uncertain'] + s.frames_skipped['gnss_stale'],
        frames_skipped=dict(s.frames_skipped),
        grids_used=f.grids_used,
        resamples=resamples,
        reinitializations=f.reinitializations,
        last_reinit_reason=f.last_reinit_reason,
        hidden_resets=dict(s.hidden_resets),
        hidden_shifts=s.hidden_shifts,
        tiles_encoded=keeper.tiles_encoded if keeper else 0,
        last_tile_reason=keeper.last_reason if keeper else '',
        tiles=tiles_health,
    )
