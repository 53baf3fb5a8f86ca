"""A drive along the road network: route, lane-keeping path, speed profile and sampled poses.

The vehicle keeps to the right-hand lane, rounds corners on quadratic Bezier arcs, limits its
lateral acceleration in curves, accelerates/brakes at bounded rates and sometimes stops before an
intersection. All positions are ENU metres of the world's datum; yaw follows REP-103.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cvseq_localizer.sim import polyline as pl
from cvseq_localizer.sim.roads import RoadNetwork

STEP_M = 0.5  # spacing of the planned path


@dataclass(frozen=True)
class DriveConfig:
    """Driving behaviour (SI units)."""

    cruise_mps: tuple[float, float] = (8.0, 14.0)  # cruise speed range, drawn per road
    lat_accel_mps2: float = 2.5  # max lateral acceleration in curves
    accel_mps2: float = 1.6  # max acceleration
    decel_mps2: float = 2.5  # max braking
    stop_prob: float = 0.3  # chance of stopping before an intersection
    stop_s: tuple[float, float] = (2.0, 8.0)  # stop duration range, seconds
    corner_cut_m: float = 10.0  # lanes end this far before/after the node; a corner joins them
    right_turn_radius_m: float = 6.0  # radius of right turns (smaller if the corner is tight)
    left_turn_radius_m: float = 10.0  # radius of left turns
    straight_bias: float = 2.5  # preference for going straight at intersections


@dataclass(frozen=True)
class Trajectory:
    """Ground-truth poses at ``stamp_ns`` (``N``): position, heading and forward speed."""

    stamp_ns: np.ndarray  # (N,) int64 nanoseconds
    xy_enu_m: np.ndarray  # (N, 2) metres
    yaw_rad: np.ndarray  # (N,) REP-103 heading, in (-pi, pi]
    speed_mps: np.ndarray  # (N,) metres per second

    def __len__(self) -> int:
        return int(self.stamp_ns.shape[0])


@dataclass(frozen=True)
class DrivePlan:
    """A timed path: arc length ``s_m`` reached at ``t_s`` (dwell = repeated ``s``)."""

    path_enu_m: np.ndarray  # (M, 2) lane-centre path, STEP_M spacing
    heading_rad: np.ndarray  # (M,) unwrapped heading of the path
    t_s: np.ndarray  # (K,) seconds from the start, non-decreasing
    s_m: np.ndarray  # (K,) arc length at t_s
    v_mps: np.ndarray  # (K,) speed at t_s

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1])

    def sample(self, stamps_ns: np.ndarray, start_ns: int) -> Trajectory:
        """Poses at ``stamps_ns`` (the plan starts at ``start_ns``)."""
        t = np.clip((np.asarray(stamps_ns, np.int64) - start_ns) * 1e-9, 0.0, self.duration_s)
        # Constant acceleration between plan points: v is linear in t, s quadratic.
        i = np.clip(np.searchsorted(self.t_s, t, side='right') - 1, 0, len(self.t_s) - 2)
        dt = self.t_s[i + 1] - self.t_s[i]
        accel = np.where(dt > 0, (self.v_mps[i + 1] - self.v_mps[i]) / np.maximum(dt, 1e-12), 0.0)
        tau = t - self.t_s[i]
        s = self.s_m[i] + self.v_mps[i] * tau + 0.5 * accel * tau**2
        v = self.v_mps[i] + accel * tau
        s_path = np.arange(len(self.path_enu_m)) * STEP_M
        xy = np.stack([np.interp(s, s_path, self.path_enu_m[:, i]) for i in range(2)], axis=1)
        yaw = np.interp(s, s_path, self.heading_rad)
        yaw = np.angle(np.exp(1j * yaw))
        return Trajectory(np.asarray(stamps_ns, np.int64), xy, yaw, v)


def _choose_route(net: RoadNetwork, length_m: float, cfg: DriveConfig, rng) -> list[tuple]:
    """``[(road_index, from_node), ...]`` of a random walk at least ``length_m`` long."""
    road = int(rng.integers(0, len(net.roads)))
    node = net.roads[road].a if rng.random() < 0.5 else net.roads[road].b
    route, total = [], 0.0
    while total < length_m:
        route.append((road, node))
        total += net.roads[road].length_m
        pts = net.road_points(road, node)
        node = net.roads[road].b if net.roads[road].a == node else net.roads[road].a
        heading = pts[-1] - pts[-4]
        options = [(i, other) for i, other in net.neighbours(node) if i != road]
        weights = []
        for i, _ in options:
            nxt = net.road_points(i, node)
            d = nxt[3] - nxt[0]
            cos = heading @ d / (np.linalg.norm(heading) * np.linalg.norm(d) + 1e-9)
            weights.append(1.0 + cfg.straight_bias * max(cos, 0.0))
        weights = np.asarray(weights) / np.sum(weights)
        road = options[int(rng.choice(len(options), p=weights))][0]
    return route


def _segment(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    n = max(int(np.linalg.norm(b - a) / STEP_M), 1) + 1
    return a + np.linspace(0.0, 1.0, n)[:, None] * (b - a)


def _hermite(p0, t0, p1, t1) -> np.ndarray:
    """A cubic Bezier leaving ``p0`` along ``t0`` and reaching ``p1`` along ``t1``."""
    handle = np.linalg.norm(p1 - p0) / 3.0
    c0, c1 = p0 + handle * t0, p1 - handle * t1
    n = max(int(3 * handle / STEP_M), 2) + 1
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * c0 + 3 * (1 - t) * t**2 * c1 + t**3 * p1


def _fillet(p0, t0, p1, t1, cfg: DriveConfig) -> np.ndarray:
    """Corner from lane end ``p0`` (direction ``t0``) to lane start ``p1`` (``t1``).

    Straight, circular arc of the right/left turn radius, straight; the radius shrinks if the
    corner is too tight for it.
    """
    cross, dot = t0[0] * t1[1] - t0[1] * t1[0], float(t0 @ t1)
    theta = np.arctan2(abs(cross), dot)
    a = np.array([[t0[0], -t1[0]], [t0[1], -t1[1]]])
    if theta < 0.05 or abs(np.linalg.det(a)) < 1e-6:
        return _hermite(p0, t0, p1, t1)
    along0, along1 = np.linalg.solve(a, p1 - p0)
    if along0 <= 0 or along1 <= 0:  # the lanes' tangents do not meet ahead: no circular fillet
        return _hermite(p0, t0, p1, t1)
    c = p0 + along0 * t0
    radius = cfg.left_turn_radius_m if cross > 0 else cfg.right_turn_radius_m
    tan_half = np.tan(theta / 2)
    leg = min(radius * tan_half, 0.95 * along0, 0.95 * along1)
    radius = leg / tan_half
    sign = 1.0 if cross > 0 else -1.0
    t_in, t_out = c - leg * t0, c + leg * t1
    centre = t_in + sign * radius * np.array([-t0[1], t0[0]])
    a0 = np.arctan2(*(t_in - centre)[::-1])
    sweep = a0 + sign * theta * np.linspace(0, 1, max(int(radius * theta / STEP_M), 2) + 1)
    arc = centre + radius * np.stack([np.cos(sweep), np.sin(sweep)], axis=1)
    return np.concatenate([_segment(p0, t_in)[:-1], arc, _segment(t_out, p1)[1:]])


def _corner_cuts(net: RoadNetwork, route, cfg: DriveConfig) -> list[float]:
    """Per junction: how far before/after the node the lanes end, so the turn radius fits."""
    cuts = [0.0]
    for (road_in, node_in), (road_out, node_out) in zip(route[:-1], route[1:]):
        pts_in = net.road_points(road_in, node_in)
        pts_out = net.road_points(road_out, node_out)
        t0 = pts_in[-1] - pts_in[-min(11, len(pts_in))]
        t1 = pts_out[min(10, len(pts_out) - 1)] - pts_out[0]
        cross, dot = t0[0] * t1[1] - t0[1] * t1[0], float(t0 @ t1)
        theta = min(abs(np.arctan2(cross, dot)), np.radians(160))
        radius = cfg.left_turn_radius_m if cross > 0 else cfg.right_turn_radius_m
        room = 0.35 * min(pl.arclength(pts_in)[-1], pl.arclength(pts_out)[-1])
        cuts.append(min(max(cfg.corner_cut_m, radius * np.tan(theta / 2) + 3.0), room))
    return cuts + [0.0]


def _route_path(net: RoadNetwork, route, cfg: DriveConfig) -> tuple[np.ndarray, list[float]]:
    """Right-lane path along the route with rounded corners, and the arc length of each corner."""
    pieces = []
    cuts = _corner_cuts(net, route, cfg)
    for j, (road, node) in enumerate(route):
        pts = net.road_points(road, node)
        lane = pl.offset(pl.resample(pts, STEP_M), -net.roads[road].lane_offset_m())
        piece = pl.cut(lane, cuts[j], pl.arclength(lane)[-1] - cuts[j + 1], STEP_M)
        if j > 0:
            p0, p1 = pieces[-1][-1], piece[0]
            t0 = pl.tangents(pieces[-1][-3:])[-1]
            t1 = pl.tangents(piece[:3])[0]
            pieces.append(_fillet(p0, t0, p1, t1, cfg)[1:-1])
        pieces.append(piece)
    path = np.concatenate(pieces)
    s = pl.arclength(path)
    bounds = np.cumsum([len(p) for p in pieces])
    node_s = [float(s[(bounds[2 * j - 2] + bounds[2 * j - 1]) // 2]) for j in range(1, len(route))]
    return path, node_s


def _sliding_max(x: np.ndarray, window: int) -> np.ndarray:
    padded = np.pad(x, (window // 2, window - 1 - window // 2), mode='edge')
    return np.lib.stride_tricks.sliding_window_view(padded, window).max(axis=1)


def plan_drive(
    net: RoadNetwork, duration_s: float, cfg: DriveConfig, rng: np.random.Generator
) -> DrivePlan:
    """A random drive of at least ``duration_s`` seconds starting from standstill."""
    route = _choose_route(net, duration_s * cfg.cruise_mps[1] * 1.2 + 60.0, cfg, rng)
    path, node_s = _route_path(net, route, cfg)
    path = pl.resample(path, STEP_M)  # keeps arc lengths, so node_s stays valid
    heading = np.unwrap(np.arctan2(*np.gradient(path, axis=0).T[::-1]))
    curvature = _sliding_max(np.abs(np.gradient(heading)) / STEP_M, int(4 / STEP_M))
    v_lim = _cruise_limits(path, route, node_s, cfg, rng)
    v_lim = np.minimum(v_lim, np.sqrt(cfg.lat_accel_mps2 / np.maximum(np.abs(curvature), 1e-6)))
    stops = _stops(len(path), node_s, cfg, rng)
    v_lim[0] = 0.0
    v_lim[list(stops)] = 0.0
    v = _accel_limits(v_lim, cfg)
    return _timing(path, heading, v, stops)


def _cruise_limits(path, route, node_s, cfg: DriveConfig, rng) -> np.ndarray:
    """Per-point cruise speed: a random speed per road between its corner arcs."""
    s = np.arange(len(path)) * STEP_M
    edges = np.concatenate([[0.0], node_s, [np.inf]])
    speeds = rng.uniform(*cfg.cruise_mps, len(edges) - 1)
    return speeds[np.clip(np.searchsorted(edges, s, side='right') - 1, 0, len(speeds) - 1)]


def _stops(n_points: int, node_s, cfg: DriveConfig, rng) -> dict[int, float]:
    """``{path index: dwell seconds}`` of stops about 12 m before some intersections."""
    stops = {}
    for s_node in node_s:
        if rng.random() < cfg.stop_prob:
            i = int((s_node - cfg.corner_cut_m) / STEP_M)
            if 0 < i < n_points - 1:
                stops[i] = float(rng.uniform(*cfg.stop_s))
    return stops


def _accel_limits(v_lim: np.ndarray, cfg: DriveConfig) -> np.ndarray:
    v = v_lim.copy()
    for i in range(1, len(v)):
        v[i] = min(v[i], np.sqrt(v[i - 1] ** 2 + 2 * cfg.accel_mps2 * STEP_M))
    for i in range(len(v) - 2, -1, -1):
        v[i] = min(v[i], np.sqrt(v[i + 1] ** 2 + 2 * cfg.decel_mps2 * STEP_M))
    return v


def _timing(path, heading, v, stops: dict[int, float]) -> DrivePlan:
    dt = 2 * STEP_M / np.maximum(v[:-1] + v[1:], 1e-3)
    t = np.concatenate([[0.0], np.cumsum(dt)])
    s = np.arange(len(path)) * STEP_M
    t_out, s_out, v_out, shift = [], [], [], 0.0
    for i in range(len(path)):
        t_out.append(t[i] + shift)
        s_out.append(s[i])
        v_out.append(v[i])
        if i in stops:
            shift += stops[i]
            t_out.append(t[i] + shift)
            s_out.append(s[i])
            v_out.append(0.0)
    return DrivePlan(path, heading, np.asarray(t_out), np.asarray(s_out), np.asarray(v_out))
