"""Driving simulator: a procedural town with aerial imagery, a drive, camera frames and GNSS.

Typical use::

    scenario = simulate_drive(SimConfig(duration_s=60), np.random.default_rng(0))
    for stamp_ns, rgb in scenario.frames():           # rendered on demand
        ...
    tile = scenario.world.render_aerial(geo_image)    # any georeferenced footprint

``cvseq_localizer.tools.sim_cli.write_scenario`` writes it as rosbag2 + MBTiles + JSON.
"""

from cvseq_localizer.sim.aerial import render_aerial, tile_geoimage, write_tile_pyramid
from cvseq_localizer.sim.camera import PinholeCamera
from cvseq_localizer.sim.drive import DriveConfig, DrivePlan, Trajectory, plan_drive
from cvseq_localizer.sim.gnss_model import GnssErrorConfig, GnssSimulation, simulate_gnss
from cvseq_localizer.sim.ground import GroundRenderer
from cvseq_localizer.sim.scenario import Scenario, SimConfig, simulate_drive
from cvseq_localizer.sim.world import World, WorldConfig, build_world

__all__ = [
    'DriveConfig',
    'DrivePlan',
    'GnssErrorConfig',
    'GnssSimulation',
    'GroundRenderer',
    'PinholeCamera',
    'Scenario',
    'SimConfig',
    'Trajectory',
    'World',
    'WorldConfig',
    'build_world',
    'plan_drive',
    'render_aerial',
    'simulate_drive',
    'simulate_gnss',
    'tile_geoimage',
    'write_tile_pyramid',
]
