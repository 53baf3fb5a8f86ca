"""A procedural street network: a jittered grid of intersections joined by (curved) roads.

Everything here is in ENU metres of the world's datum. Roads are polylines between intersection
nodes; painting them is ``scenery.py``'s job, driving along them ``drive.py``'s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoadConfig:
    """Street network parameters (metres)."""

    block_m: float = 85.0  # mean distance between neighbouring intersections
    jitter_m: float = 10.0  # random displacement of each intersection
    margin_m: float = 28.0  # distance of the outermost intersections from the world edge
    curve_prob: float = 0.45  # probability that a road bends (quadratic Bezier)
    curve_max_frac: float = 0.18  # max bend: control-point offset / road length
    drop_prob: float = 0.15  # probability that an inner road is left out (keeps degree >= 2)
    sidewalk_m: float = 2.5  # sidewalk width on each side
    lane_widths_m: tuple[float, ...] = (6.5, 7.0, 7.5, 9.0)  # two-lane carriageway widths
    arterial_width_m: float = 13.0  # four-lane road (one grid line becomes an arterial)


@dataclass
class Road:
    """One road between nodes ``a`` and ``b``.

    Attributes:
        a, b: node indices; ``points_enu_m`` runs from node ``a`` to node ``b``.
        points_enu_m: ``(N, 2)`` centre line, about 1 m spacing, ENU metres.
        width_m: carriageway width (kerb to kerb).
        lanes: number of lanes (2 or 4).
    """

    a: int
    b: int
    points_enu_m: np.ndarray
    width_m: float
    lanes: int = 2

    @property
    def length_m(self) -> float:
        return float(np.sum(np.linalg.norm(np.diff(self.points_enu_m, axis=0), axis=1)))

    def lane_offset_m(self) -> float:
        """Distance of the outer right-hand lane's centre from the road centre line (metres)."""
        lane_m = self.width_m / self.lanes
        return lane_m * (self.lanes / 2 - 0.5)


@dataclass
class RoadNetwork:
    """Intersections (``nodes_enu_m``, ``(K, 2)``) and the roads between them."""

    nodes_enu_m: np.ndarray
    roads: list[Road]

    def neighbours(self, node: int) -> list[tuple[int, int]]:
        """``[(road_index, other_node), ...]`` of the roads at ``node``."""
        out = []
        for i, road in enumerate(self.roads):
            if road.a == node:
                out.append((i, road.b))
            elif road.b == node:
                out.append((i, road.a))
        return out

    def node_radius_m(self, node: int) -> float:
        """Half the widest carriageway meeting at ``node`` (the intersection's paved radius)."""
        return max(self.roads[i].width_m for i, _ in self.neighbours(node)) / 2.0

    def road_points(self, road_index: int, from_node: int) -> np.ndarray:
        """Centre line of a road oriented to start at ``from_node``."""
        road = self.roads[road_index]
        return road.points_enu_m if road.a == from_node else road.points_enu_m[::-1]


def _bezier(p0: np.ndarray, c: np.ndarray, p1: np.ndarray, step_m: float = 1.0) -> np.ndarray:
    n = max(int(np.linalg.norm(p1 - p0) / step_m), 2) + 1
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * c + t**2 * p1


def _road_geometry(p0: np.ndarray, p1: np.ndarray, cfg: RoadConfig, rng) -> np.ndarray:
    mid = 0.5 * (p0 + p1)
    if rng.random() < cfg.curve_prob:
        d = p1 - p0
        normal = np.array([-d[1], d[0]]) / max(np.linalg.norm(d), 1e-9)
        mid = mid + normal * rng.uniform(-1, 1) * cfg.curve_max_frac * np.linalg.norm(d) * 2
    return _bezier(p0, mid, p1)


def _grid_nodes(size_m: float, cfg: RoadConfig, rng) -> tuple[np.ndarray, int]:
    span = size_m - 2 * cfg.margin_m
    n = max(int(round(span / cfg.block_m)) + 1, 2)
    ticks = np.linspace(-span / 2, span / 2, n)
    east, north = np.meshgrid(ticks, ticks[::-1])
    nodes = np.stack([east.ravel(), north.ravel()], axis=1)
    jitter = min(cfg.jitter_m, 0.15 * span / (n - 1))
    return nodes + rng.uniform(-jitter, jitter, nodes.shape), n


def _grid_edges(n: int, cfg: RoadConfig, rng) -> list[tuple[int, int]]:
    edges = []
    for r in range(n):
        for c in range(n):
            k = r * n + c
            if c + 1 < n:
                edges.append((k, k + 1))
            if r + 1 < n:
                edges.append((k, k + n))
    degree = np.zeros(n * n, int)
    for a, b in edges:
        degree[a] += 1
        degree[b] += 1
    kept = []
    for a, b in rng.permutation(np.array(edges)).tolist():
        if degree[a] > 2 and degree[b] > 2 and rng.random() < cfg.drop_prob:
            degree[a] -= 1
            degree[b] -= 1
            continue
        kept.append((a, b))
    return sorted(kept)


def build_road_network(size_m: float, cfg: RoadConfig, rng: np.random.Generator) -> RoadNetwork:
    """A jittered ``n x n`` grid network filling a ``size_m`` square centred on the datum.

    Every node keeps at least two roads, so a drive never has to turn around. One horizontal grid
    line (when the grid has more than two) is a four-lane arterial.
    """
    nodes, n = _grid_nodes(size_m, cfg, rng)
    arterial_row = int(rng.integers(1, n - 1)) if n > 2 else -1
    roads = []
    for a, b in _grid_edges(n, cfg, rng):
        pts = _road_geometry(nodes[a], nodes[b], cfg, rng)
        is_arterial = a // n == arterial_row and b // n == arterial_row
        width = cfg.arterial_width_m if is_arterial else float(rng.choice(cfg.lane_widths_m))
        roads.append(Road(a, b, pts, width, 4 if is_arterial else 2))
    log.debug('road network: %d nodes, %d roads', len(nodes), len(roads))
    return RoadNetwork(nodes, roads)
