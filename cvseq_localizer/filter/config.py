"""``FilterConfig``: every setting of the particle filter, with meaning, unit and default.

Noise densities are continuous-time: a random walk with density ``q`` has standard deviation
``q * sqrt(dt_s)`` after ``dt_s`` seconds, so the filter behaves the same at any update rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

GNSS_MODELS = ('robust', 'paper_gate')


@dataclass(frozen=True)
class FilterConfig:
    """Particle-filter settings (frames: ENU metres of the localizer's map frame)."""

    # ---------------------------------------------------------------------------- particles
    # Number of particles M. Cost of an update is linear in M.
    num_particles: int = 2000
    # Initial forward speed is drawn uniformly from [0, init_speed_max_mps], m/s (yaw is
    # uniform in [-pi, pi): the heading is unknown until motion shows it).
    init_speed_max_mps: float = 15.0
    # Initial yaw rate is drawn from N(0, init_yaw_rate_std_radps^2), rad/s.
    init_yaw_rate_std_radps: float = 0.1

    # ------------------------------------------------------------------------- motion model
    # Acceleration noise density, m/s^2 per sqrt(Hz): speed std grows as this * sqrt(dt_s).
    # 2.0 follows braking at 2.5 m/s^2; 0.5 let the cloud overshoot stops by up to 20 m on
    # simulated drives (GNSS-only mean error 7.3 m vs 5.3 m over three 90-120 s drives).
    accel_noise_mps2: float = 2.0
    # Yaw-rate noise density, rad/s per sqrt(Hz): a direct yaw random walk on top of the turn
    # rate, yaw std grows as this * sqrt(dt_s).
    yaw_rate_noise_radps: float = 0.05
    # Yaw-acceleration noise density, rad/s^2 per sqrt(Hz): the turn rate's random walk.
    yaw_accel_noise_radps2: float = 0.3
    # The turn rate decays towards zero with this time constant, s (bounded over long gaps).
    yaw_rate_decay_s: float = 5.0
    # Turn rates are clipped to [-max_yaw_rate_radps, max_yaw_rate_radps], rad/s.
    max_yaw_rate_radps: float = 1.0
    # Extra isotropic position noise density, m/s per sqrt(Hz) (model error, side slip).
    position_noise_mps: float = 0.1
    # Speeds are clipped to [0, max_speed_mps], m/s (forward motion only).
    max_speed_mps: float = 45.0
    # A prediction longer than this is integrated in sub-steps of at most this length, s.
    max_step_s: float = 0.5
    # Motion is propagated over at most this gap, s; longer gaps are capped (with a warning),
    # so the particle spread stays bounded.
    max_gap_s: float = 10.0
    # Late and out-of-order measurements: every particle keeps its own past states over this
    # window, s (ancestry follows resampling), and a late measurement is evaluated at the
    # particle's state at its stamp (fixed-lag particle smoothing: no re-propagation).
    history_s: float = 2.0
    # A stamp older than the history but less than this behind the filter time is ignored
    # (counted, 'too late'); further back the clock jumped: the filter resets, s.
    clock_jump_s: float = 5.0
    # A stamp more than this ahead of the filter time is ignored as from the future (counted),
    # s; future_streak such stamps in a row mean the clock jumped forward: reset.
    max_future_s: float = 60.0
    future_streak: int = 5
    # Legacy alias of the old out-of-order window (kept so configs still load), ns. Unused.
    max_backward_ns: int = 200_000_000

    # --------------------------------------------------------------------------- odometry
    # Odometry (wheel speed + yaw rate) drives the prediction while its last sample is at most
    # this old, s: particles take the measured speed / yaw rate plus its noise, speed may be
    # negative (reversing keeps the heading). Older odometry: the free motion model above.
    odom_timeout_s: float = 0.5
    # Process noise while odometry drives the prediction: speed and yaw-rate random walks
    # between odometry samples, per sqrt(Hz) (covers scale error and gyro bias drift).
    odom_accel_noise_mps2: float = 0.3
    odom_yaw_accel_noise_radps2: float = 0.02
    odom_yaw_noise_radps: float = 0.005
    # Optional (off): every particle carries its own wheel-speed scale error ~ N(1, sigma^2)
    # and yaw-rate bias ~ N(0, sigma^2) (rad/s), applied to the measured odometry. With 2 % and
    # 0.004 rad/s the 20 s dropout test got worse (p95 7.4 m vs 2.5 m), so off until tuned.
    odom_scale_sigma: float = 0.0
    odom_gyro_bias_sigma_radps: float = 0.0
    # Odometry variances are floored at these (a zero variance never collapses the cloud).
    odom_min_speed_std_mps: float = 0.05
    odom_min_yaw_rate_std_radps: float = 0.002
    # Odometry speeds beyond this magnitude are ignored as absurd, m/s.
    odom_max_abs_speed_mps: float = 70.0

    # ---------------------------------------------------------------------------- heading
    # Heading measurements (e.g. the network's yaw) are a mixture: a wrapped Gaussian with the
    # given variance (floored at heading_min_std_rad) plus this outlier weight (uniform).
    heading_outlier_weight: float = 0.05
    heading_min_std_rad: float = 0.01

    # ------------------------------------------------------------------------------- GNSS
    # 'robust' (default): every fix is scored per particle by a mixture of a Gaussian core with
    # the receiver's fix-to-fix (white) noise and a wide outlier component (multipath), so an
    # outlier is down-weighted by construction and good fixes keep their full weight: there is
    # no state in which good fixes are locked out. 'paper_gate': the paper's Gaussian on the
    # reported covariance behind the gate below (kept for comparison). With the fix track
    # (gnss_jump_*), the motion check and the track heading below, bench_filter_drives.py (20 x
    # 60 s per profile, fix epochs, mean / p99 m): robust 1.80 / 4.10, 4.10 / 11.76, 6.42 /
    # 31.9 vs paper_gate 1.84 / 4.46, 4.33 / 20.5, 7.67 / 50.5 vs raw 1.83 / 4.45, 4.38 / 20.6,
    # 6.82 / 32.5 (open, default, urban); NEES 2.7-4.1. Before the fix track robust was 2.02 /
    # 9.7, 4.47 / 22.2, 7.82 / 45.7: a captured multipath corrupted speed and heading.
    gnss_model: str = 'robust'
    # The core's std is gnss_white_fraction of the reported sigma, or (gnss_adaptive_white) the
    # robust scale of the recent innovations (gnss.WhiteNoiseScale). A core as narrow as the
    # white noise (fraction 0.6 + adaptive) snapped onto fixes and lost speed/heading after
    # multipath (dev drives: open 9005 11.0 m vs raw 2.8 m); the reported sigma (1.0, fixed)
    # was stable on all 18 dev drives (open 2.78 / default 3.88 / urban 8.66 m vs raw 2.82 /
    # 4.03 / 8.34 m, 6 x 60 s each).
    gnss_white_fraction: float = 1.0
    gnss_adaptive_white: bool = False
    # A GNSS-only estimate's covariance adds gnss_bias_cov_fraction of the reported fix
    # covariance (running mean over gnss_bias_tau_s): the slowly drifting receiver bias no
    # GNSS-only filter can remove (0.9 of the variance in the simulator's default profile), so
    # NEES stays honest.
    gnss_bias_in_cov: bool = True
    gnss_bias_cov_fraction: float = 0.8
    gnss_bias_tau_s: float = 60.0
    # Optional (off): every particle carries that bias as a Gauss-Markov state with this std,
    # m, and fixes are scored at position + bias. On dev drives the unobservable bias wandered
    # (5 m estimated vs 2 m true) and the mean error grew 3.8 -> 5.2 m, so it is off; it is the
    # natural model once the network observes the absolute position (issue 12).
    gnss_bias_sigma_m: float = 0.0
    # With that bias state: a grid frame after GNSS alone (none informative within
    # gnss_only_timeout_s) first re-spreads the cloud along the bias it cannot see
    # (particles.spread_along_bias; at most once per gnss_only_timeout_s), so the network's
    # peak finds particles. Development drives, 40 s, fused mean without -> with: default
    # 301-308 1.29 -> 0.82 m, urban 311-322 1.25 -> 1.34, 323-334 4.04 -> 3.51, 335-346
    # 1.83 -> 1.57.
    grid_respread_bias: bool = True
    # Prior probability that a fix is an outlier (multipath), and the std of that component, m.
    gnss_outlier_weight: float = 0.1
    gnss_outlier_sigma_m: float = 30.0
    # Robust model only: the estimate far from the fixes (diverge_gnss_*) for this long is a
    # divergence, s. Fixes of a multipath episode never reach this check (the fix track below
    # rejects them), so it can be short; 12 s (before the fix track) let a cloud with a wrong
    # velocity circle the fixes for 30 s (dev drive open 9016: 12.3 m mean vs raw 1.7 m).
    robust_diverge_after_s: float = 3.0
    # ... while grid frames are informative (the network is then more accurate than the
    # receiver's drifting bias, which in urban drives exceeds diverge_gnss_min_m for seconds:
    # development drive 324 was re-initialised onto a 17 m GNSS bias after 3 s).
    diverge_with_grid_after_s: float = 12.0
    # ... but a disagreement beyond max(diverge_gross_m, 2 x the diverge_gnss_* limit) is one
    # after diverge_gross_after_s whatever the grid says (0 m = off): no receiver bias is that
    # large, and a matcher locked onto a wrong place carries the tile with the estimate and
    # keeps confirming it (dev urban 359: the estimate walked 40 -> 87 m from fixes that stayed
    # 20 m from the truth before the 12 s ran out).
    diverge_gross_m: float = 30.0
    diverge_gross_after_s: float = 3.0
    # Robust model only: the fix stream is segmented at jumps (fix_track.FixTrack, a
    # constant-velocity Kalman filter on the fixes): a fix more than gnss_jump_min_m and
    # gnss_jump_n_sigma from the track's prediction opens a suspect segment whose fixes are
    # rejected until the track returns (multipath) or the segment lasts gnss_jump_confirm_s
    # (a genuine jump: re-anchor there with the track's velocity).
    gnss_jump_check: bool = True
    gnss_jump_min_m: float = 6.0
    gnss_jump_n_sigma: float = 5.0
    gnss_jump_confirm_s: float = 8.0
    # A promoted jump re-anchors on GNSS alone only: while the network is informative (a grid
    # frame within gnss_only_timeout_s) the new segment's fixes are ordinary fixes, and the
    # divergence monitor (diverge_with_grid_after_s) owns the decision to re-anchor. Dev urban
    # 324: a 7.5 s, 20 m multipath episode was promoted after 8 s and pulled a matcher-held
    # estimate (0.2 m error) 21 m off; True restores the re-anchor.
    reanchor_promoted_with_grid: bool = False
    # Robust model only: while the fix track moves faster than motion_check_min_speed_mps, the
    # cloud's mean yaw disagreeing with the track's heading by more than
    # max(motion_check_n_sigma * its std, motion_check_min_deg) for motion_check_after_s
    # re-draws every particle's speed and yaw from the track (positions kept): a heading that
    # locked onto a wrong value at low speed (or was confirmed by a network searching around
    # it) does not survive on a moving vehicle. 0 s = off.
    motion_check_after_s: float = 1.0
    motion_check_min_speed_mps: float = 3.0
    motion_check_n_sigma: float = 3.0
    motion_check_min_deg: float = 20.0
    # ... also while grid frames are informative, but only beyond motion_check_grid_min_deg
    # (motion_check_with_grid: at motion_check_min_deg as on GNSS alone). The network's
    # heading then usually outweighs the fix track's (development drives 322-326, urban: the
    # check at 20 deg cost 9.5 m mean against 5.2 m without), but a geometry-aware engine
    # searching around a heading 50 deg wrong confirms it (dev 313: 53 deg at start-up, the
    # engine then carried the cloud 60 m off through a dropout; 45 deg: urban 311-322 fused mean
    # 2.23 -> 1.50 m, worst drive 16.1 -> 7.4 m; urban 323-334 5.34 -> 5.31 m, default
    # 301-308 unchanged). 0 = off with a network.
    motion_check_grid_min_deg: float = 45.0
    motion_check_with_grid: bool = False
    # Robust model with the fix track, GNSS alone: every fix the track takes while it moves
    # faster than motion_check_min_speed_mps also weights the particles' yaw by the track's
    # heading, with its std times track_heading_std_scale (the track and the cloud see the
    # same fixes, so the heading is not independent information: the scale tempers it),
    # floored at track_heading_min_std_deg. 0 = off. With odometry only if
    # track_heading_with_odometry. Development drives 9000-9039 (60 s, GNSS alone; heading
    # mean while faster than 3 m/s, off -> 2.0): open 5.3 -> 5.0 deg, default 8.6 -> 7.6,
    # urban 13.9 -> 12.9; fix-epoch p99 0.94 / 0.77 / 1.00 -> 0.95 / 0.72 / 0.96 x raw, means
    # unchanged (+-0.004 x raw).
    track_heading_std_scale: float = 4.0
    track_heading_min_std_deg: float = 1.0
    track_heading_with_odometry: bool = False
    # Standard deviation used when the fix has no covariance (unknown type), m.
    gnss_fallback_sigma_m: float = 5.0
    # Fix standard deviations are clamped to [gnss_min_sigma_m, gnss_max_sigma_m], m.
    gnss_min_sigma_m: float = 0.3
    gnss_max_sigma_m: float = 200.0
    # GNSS log-likelihoods are divided by this. Receiver errors are correlated over seconds
    # (bias, multipath), so 10 Hz fixes are far from independent: a temperature T counts a fix
    # as 1/T of an independent measurement (T = 1 treats every fix as independent).
    gnss_temperature: float = 1.0
    # Gate (paper III-D): a fix farther than gate_n_sigma * sigma + (v + margin) * dt from the
    # previous accepted fix is rejected. sigma: largest std of the fix, m; v: estimated speed.
    gate_n_sigma: float = 3.0
    # Speed margin added to the estimated speed in the gate, m/s (allows acceleration).
    gate_speed_margin_mps: float = 3.0
    # After this many consecutive rejected fixes that agree with each other (each inside the
    # gate of the previous one), the filter re-anchors on the GNSS (a genuine jump).
    reanchor_after_rejections: int = 5
    # ... and only when those rejected fixes span at least this long, s. Multipath episodes last
    # 1-6 s: re-anchoring after 0.5 s (5 fixes at 10 Hz) followed them (simulated drives).
    reanchor_after_s: float = 8.0
    # Gate each fix against the filter's predicted estimate (its std combined with the fix's)
    # instead of the previous accepted fix (the paper). With the paper's reference one accepted
    # multipath fix makes the following good fixes look like outliers; with the estimate as
    # reference a wrong estimate (e.g. a network on a parallel road) locks GNSS out until the
    # re-anchor (reanchor_after_s) instead of being detected as a divergence. Off by default
    # until that trade-off is settled (measurements on the next field).
    gate_on_estimate: bool = False
    # With gate_on_estimate, the gate radius grows by this speed times the time since the last
    # accepted fix, m/s (so a long-rejected, genuine track is let in again). On 8 simulated
    # 60 s drives (raw GNSS 4.39 m mean, 9.25 m p99) the GNSS-only filter gave 4.40 / 11.31 m
    # with the paper's gate, 4.26 / 8.04 m with this gate at 0.5 m/s, 4.58 / 19.9 m at 1 m/s.
    gate_estimate_margin_mps: float = 0.5

    # ------------------------------------------------------------------------------- grid
    # Std of each Gaussian of the grid mixture, in cells (0.5 = half a cell).
    grid_sigma_cells: float = 0.5
    # Weight of the uniform floor over the tile in the grid likelihood, in (0, 1): one wrong
    # frame cannot kill the filter; particles outside the tile get only the floor.
    grid_floor_weight: float = 0.1
    # The grid log-likelihood is divided by this (> 1 tempers over-confident, correlated frames;
    # < 1 sharpens a calibrated engine whose mixture above blurs it). 2.0 was tuned for the
    # paper-structured TAM network; geometry-aware engines get
    # LocalizerConfig.geometric_grid_temperature instead (0.25, measured there).
    grid_temperature: float = 2.0
    # Honest covariance with a network: consecutive frames' errors are correlated (the same
    # wrong place, frame after frame), which the particles' spread does not show. While grid
    # frames are informative the estimate's covariance adds grid_cov_floor_m^2 I plus
    # grid_innovation_cov_weight times a running mean (time constant grid_innovation_tau_s)
    # of d d^T, d = the frame's most probable point minus the predicted estimate. Development
    # drives 301-306 / 311-316 (geometric matcher, 40 s): NEES 130 -> 3.5, share inside the
    # 2-sigma ellipse 5 % -> 82 % (a floor alone: 2 m gave 4.3 / 79 %). With the matcher
    # engaged from the first seconds (2026-12-03) the covariance is conservative (urban
    # 311-346: NEES 0.69, 97 % inside 2 sigma, median error 0.35 m against a median sigma of
    # 2.8 m); a 1.0 m floor raised the NEES to 1.25 but the mean error 0.79 -> 0.91 m (the
    # covariance also drives the dropout gate and the tile choice), so 1.5 m stays.
    grid_cov_floor_m: float = 1.5
    grid_innovation_cov_weight: float = 0.1
    grid_innovation_tau_s: float = 5.0
    # d is clipped at this length, m; the terms fade (time constant grid_innovation_tau_s)
    # from gnss_only_timeout_s after the last informative grid frame. Without both, a
    # matcher lost in a dropout (dev urban 334: 50-80 m off) kept the covariance above
    # LocalizerConfig.network_max_std_m for the rest of the drive: GNSS-only, 16.3 m mean.
    grid_innovation_max_m: float = 20.0
    # Only the most probable cells covering this fraction of the probability mass are used.
    grid_top_mass: float = 0.999
    # Spacing of the raster the mixture is evaluated on, in mixture sigmas (bilinear
    # interpolation at the particles; 0.5 keeps the interpolation error of a peak near 3%).
    grid_raster_step_sigma: float = 0.5

    # --------------------------------------------------------------------------- resampling
    # Resample (systematic) when the effective sample size falls below this fraction of M.
    resample_ess_ratio: float = 0.5
    # Roughening after resampling: Gaussian jitter std of position (m), speed (m/s), yaw (rad).
    roughen_xy_m: float = 0.05
    roughen_speed_mps: float = 0.05
    roughen_yaw_rad: float = 0.005

    # ----------------------------------------------------------------- output and divergence
    # Estimate.gnss_only is set when no grid update was used within this time, s.
    gnss_only_timeout_s: float = 2.0
    # An accepted fix disagrees with the estimate when their distance exceeds
    # max(diverge_gnss_min_m, diverge_gnss_n_sigma * sigma of the fix), m.
    diverge_gnss_min_m: float = 10.0
    diverge_gnss_n_sigma: float = 4.0
    # Disagreement lasting this long is a divergence: re-initialise from GNSS, s.
    diverge_after_s: float = 3.0
    # This many consecutive grid frames at the floor (no particle near the network's belief)
    # are a divergence: re-initialise from the last accepted fix.
    diverge_floor_frames: int = 20
    # ... only while the last good fix is at most this old, s: in a dropout the last fix is
    # no better a place than the dead-reckoned cloud (dev drive urban 334: a matcher lost in a
    # 15 s dropout re-initialised a cloud 6 m off onto the fix 7 s behind it, 44 m off).
    diverge_floor_max_fix_age_s: float = 2.0
    # In a dropout (no fix at all, not even a rejected one, for diverge_floor_max_fix_age_s)
    # a grid frame whose most probable cell lies farther from the estimate than
    # max(dropout_grid_gate_min_m, dropout_grid_gate_sigmas x its largest std) is rejected: the
    # cloud then holds only the matches that confirm it (and dead-reckons), instead of following
    # local maxima of a lost matcher (dev urban 334: peaks 20-80 m off for 15 s, the cloud
    # walked 16 m off at a standstill). 0 sigmas = no gate.
    dropout_grid_gate_sigmas: float = 3.0
    dropout_grid_gate_min_m: float = 8.0
    # The same gate with GNSS present too was measured and not adopted: dev urban 311-346
    # fused 1.99 -> 1.59 m but 351-380 2.12 -> 2.50 m; it rejects a right matcher whenever the
    # cloud is wrong (urban 320: 3.4 -> 12.2 m).
    # Estimate.diverged stays set this long after a detected divergence, s.
    diverged_hold_s: float = 2.0
    # Repeated warnings of one kind are logged at most once per this period, s.
    warn_period_s: float = 5.0

    def __post_init__(self) -> None:
        if self.gnss_model not in GNSS_MODELS:
            raise ValueError(f'FilterConfig.gnss_model must be one of {GNSS_MODELS}')
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str):
                continue
            if not math.isfinite(value) or value < 0:
                raise ValueError(f'FilterConfig.{f.name} = {value!r} must be finite and >= 0')
        positive = ('num_particles', 'max_step_s', 'gnss_fallback_sigma_m', 'yaw_rate_decay_s')
        for name in positive + (
            'gnss_min_sigma_m',
            'grid_sigma_cells',
            'grid_temperature',
            'gnss_temperature',
            'grid_raster_step_sigma',
            'gnss_bias_tau_s',
            'gnss_white_fraction',
            'gnss_outlier_sigma_m',
            'history_s',
            'grid_innovation_tau_s',
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f'FilterConfig.{name} must be > 0')
        for name in ('gnss_outlier_weight', 'heading_outlier_weight'):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(f'FilterConfig.{name} must lie in (0, 1)')
        if not 0.0 < self.grid_floor_weight < 1.0:
            raise ValueError('FilterConfig.grid_floor_weight must lie in (0, 1)')
        if not 0.0 < self.grid_top_mass <= 1.0:
            raise ValueError('FilterConfig.grid_top_mass must lie in (0, 1]')
        if self.gnss_max_sigma_m < self.gnss_min_sigma_m:
            raise ValueError('FilterConfig.gnss_max_sigma_m must be >= gnss_min_sigma_m')
