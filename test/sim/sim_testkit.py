"""Helpers shared by the simulator tests: a small world config and a pose in a lane."""

import numpy as np

from cvseq_localizer.sim import polyline as pl
from cvseq_localizer.sim.world import WorldConfig

SMALL = WorldConfig(size_m=120.0)  # a 2 x 2 intersection town, builds in well under a second


def lane_pose(world, s_m: float = 15.0, road_index: int = 0):
    """``(xy_enu_m, yaw_rad, unit_forward)`` in the right lane, ``s_m`` along a road."""
    road = world.network.roads[road_index]
    p, t = pl.point_at(road.points_enu_m, s_m)
    right = np.array([t[1], -t[0]])
    xy = p + right * road.lane_offset_m()
    return xy, float(np.arctan2(t[1], t[0])), t
