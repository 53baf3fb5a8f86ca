"""``simulate_drive``: a world, a drive through it, its camera frames (lazy) and GNSS fixes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from cvseq_localizer.geo.camera import CameraModel
from cvseq_localizer.sim.camera import CAMERAS, PinholeCamera
from cvseq_localizer.sim.drive import DriveConfig, DrivePlan, Trajectory, plan_drive
from cvseq_localizer.sim.gnss_model import GnssErrorConfig, GnssSimulation, simulate_gnss
from cvseq_localizer.sim.ground import GroundRenderer
from cvseq_localizer.sim.odometry import OdometryConfig, OdometrySimulation, simulate_odometry
from cvseq_localizer.sim.world import World, WorldConfig, build_world

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SimConfig:
    """Everything that defines a simulated drive (together with a seed)."""

    world: WorldConfig = field(default_factory=WorldConfig)
    camera: CameraModel | PinholeCamera = field(default_factory=lambda: CAMERAS['default'])
    drive: DriveConfig = field(default_factory=DriveConfig)
    gnss: GnssErrorConfig = field(default_factory=GnssErrorConfig)
    duration_s: float = 60.0  # length of the drive
    camera_rate_hz: float = 10.0
    gnss_rate_hz: float = 10.0
    start_ns: int = 1_700_000_000 * 10**9  # stamp of the first sample (2023-11-14, UNIX ns)
    tile_zoom: int = 19  # zoom of the satellite tiles the localizer should use
    photometric: bool = True  # random lighting/white balance/noise on camera frames
    # Wheel odometry + yaw rate (sim/odometry.py); None: no odometry.
    odometry: OdometryConfig | None = field(default_factory=OdometryConfig)
    # Delivery delays: a fix stamped t arrives at t + fix_latency_s, a camera frame stamped t
    # at t + camera_lag_s (the bag's record times are arrival times; header stamps stay the
    # measurement times), s. Real receivers deliver fixes 0.1-0.5 s late; inference queues and
    # USB cameras put frames 0.2-0.5 s behind.
    fix_latency_s: float = 0.0
    camera_lag_s: float = 0.0


def sample_stamps(start_ns: int, duration_s: float, rate_hz: float) -> np.ndarray:
    """``(N,)`` int64 stamps ``start_ns + k / rate_hz`` for ``0 <= k / rate_hz < duration_s``."""
    n = int(np.ceil(duration_s * rate_hz - 1e-9))
    return start_ns + np.round(np.arange(n) * 1e9 / rate_hz).astype(np.int64)


@dataclass
class Scenario:
    """A simulated drive.

    Attributes:
        camera_poses: ground truth at the camera stamps (one per frame).
        gnss_poses: ground truth at the GNSS epochs.
        gnss: the receiver's output at the GNSS epochs.
        odometry: wheel speed and yaw rate samples (None without ``config.odometry``).
    """

    config: SimConfig
    world: World
    plan: DrivePlan
    camera_poses: Trajectory
    gnss_poses: Trajectory
    gnss: GnssSimulation
    frame_seed: int
    odometry: OdometrySimulation | None = None
    _renderer: GroundRenderer | None = field(default=None, repr=False)

    @property
    def renderer(self) -> GroundRenderer:
        if self._renderer is None:
            self._renderer = GroundRenderer(self.world, self.config.camera)
        return self._renderer

    def __len__(self) -> int:
        return len(self.camera_poses)

    def render_frame(self, index: int) -> np.ndarray:
        """Camera image ``index`` (``H x W x 3`` uint8); the same for a given seed and index."""
        p = self.camera_poses
        rng = np.random.default_rng([self.frame_seed, index]) if self.config.photometric else None
        return self.renderer.render(p.xy_enu_m[index], float(p.yaw_rad[index]), rng)

    def frames(self) -> Iterator[tuple[int, np.ndarray]]:
        """``(stamp_ns, image)`` for every camera frame, rendered on demand."""
        for i, stamp in enumerate(self.camera_poses.stamp_ns):
            yield int(stamp), self.render_frame(i)


def simulate_drive(
    config: SimConfig, rng: np.random.Generator, world: World | None = None
) -> Scenario:
    """Build (or reuse) the world, plan a drive and simulate the GNSS receiver.

    Camera frames are not rendered here (see ``Scenario.frames``). Same config and same ``rng``
    state give identical scenarios.
    """
    world_rng, drive_rng, gnss_rng, frame_rng, odom_rng = rng.spawn(5)  # first 4 as before
    if world is None:
        world = build_world(config.world, world_rng)
    plan = plan_drive(world.network, config.duration_s, config.drive, drive_rng)
    cam_stamps = sample_stamps(config.start_ns, config.duration_s, config.camera_rate_hz)
    gnss_stamps = sample_stamps(config.start_ns, config.duration_s, config.gnss_rate_hz)
    cam_poses = plan.sample(cam_stamps, config.start_ns)
    gnss_poses = plan.sample(gnss_stamps, config.start_ns)
    gnss = simulate_gnss(gnss_stamps, gnss_poses.xy_enu_m, world.frame, config.gnss, gnss_rng)
    seed = int(frame_rng.integers(0, 2**63 - 1))
    odom = None
    if config.odometry is not None:
        odom = simulate_odometry(plan, config.start_ns, config.duration_s, config.odometry,
                                 odom_rng)  # fmt: skip
    log.info('scenario: %d frames, %d GNSS messages', len(cam_poses), len(gnss.fixes))
    return Scenario(config, world, plan, cam_poses, gnss_poses, gnss, seed, odom)
