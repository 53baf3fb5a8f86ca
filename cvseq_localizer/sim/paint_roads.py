"""Painting the street network: sidewalks, asphalt, lane markings, zebra crossings, manholes."""

from __future__ import annotations

import cv2
import numpy as np

from cvseq_localizer.sim import polyline as pl
from cvseq_localizer.sim import textures as tx
from cvseq_localizer.sim.layers import (
    MARKING,
    ROAD,
    SIDEWALK,
    Layers,
    draw_disc,
    draw_polyline,
    polygon_mask,
)
from cvseq_localizer.sim.roads import RoadConfig, RoadNetwork

DASH_M, GAP_M = 3.0, 6.0  # German urban centre-line dashes
LINE_M = 0.15  # painted line width
STRIPE_M, STRIPE_LEN_M = 0.5, 3.5  # zebra stripes: width across the road, length along it


def _node_masks(layers: Layers, net: RoadNetwork, widen_m: float) -> np.ndarray:
    mask = np.zeros(layers.grid.shape, np.uint8)
    for road in net.roads:
        draw_polyline(mask, layers.grid, road.points_enu_m, road.width_m + 2 * widen_m, 1)
    for k, node in enumerate(net.nodes_enu_m):
        draw_disc(mask, layers.grid, node, net.node_radius_m(k) + widen_m + 1.0, 1)
    return mask.astype(bool)


def paint_pavement(layers: Layers, net: RoadNetwork, cfg: RoadConfig, rng) -> None:
    """Sidewalks (slab texture) then asphalt (noisy dark grey) for every road and intersection."""
    shape = layers.grid.shape
    grain = rng.normal(0.0, 0.04, shape).astype(np.float32)
    side = _node_masks(layers, net, cfg.sidewalk_m)
    slabs = tx.tinted(tx.SIDEWALK_RGB, tx.fractal_noise(shape, 40, rng), 0.08, grain)
    layers.ground_rgb[side] = slabs[side]
    layers.class_map[side] = SIDEWALK
    road = _node_masks(layers, net, 0.0)
    asphalt = tx.tinted(tx.ASPHALT_RGB, tx.fractal_noise(shape, 60, rng), 0.12, grain * 1.5)
    layers.ground_rgb[road] = asphalt[road]
    layers.class_map[road] = ROAD


def _paint_line(layers: Layers, points: np.ndarray, width_m: float) -> None:
    if len(points) < 2:
        return
    draw_polyline(layers.ground_rgb, layers.grid, points, width_m, tx.MARKING_RGB)
    draw_polyline(layers.class_map, layers.grid, points, width_m, MARKING)


def _paint_dashes(layers: Layers, line: np.ndarray, s0: float, s1: float, phase: float) -> None:
    s = s0 + phase
    while s < s1:
        _paint_line(layers, pl.cut(line, s, min(s + DASH_M, s1)), LINE_M)
        s += DASH_M + GAP_M


def _clear_m(net: RoadNetwork, node: int, cfg: RoadConfig) -> float:
    """Distance from a node's centre at which markings of its roads may start."""
    return net.node_radius_m(node) + cfg.sidewalk_m + 1.0


def paint_markings(layers: Layers, net: RoadNetwork, cfg: RoadConfig, rng) -> None:
    """Centre/lane lines, edge lines, zebra crossings and stop lines on every road."""
    for road in net.roads:
        pts = road.points_enu_m
        length = road.length_m
        s0 = _clear_m(net, road.a, cfg) + STRIPE_LEN_M + 2.0
        s1 = length - _clear_m(net, road.b, cfg) - STRIPE_LEN_M - 2.0
        if s1 - s0 < 4.0:
            continue
        half = road.width_m / 2
        if road.lanes == 4:
            for side in (-0.12, 0.12):
                _paint_line(layers, pl.cut(pl.offset(pts, side), s0, s1), LINE_M)
            for side in (-half / 2, half / 2):
                _paint_dashes(layers, pl.offset(pts, side), s0, s1, rng.uniform(0, GAP_M))
        else:
            _paint_dashes(layers, pts, s0, s1, rng.uniform(0, GAP_M))
        if rng.random() < 0.5:
            for side in (-(half - 0.3), half - 0.3):
                _paint_line(layers, pl.cut(pl.offset(pts, side), s0, s1), LINE_M * 1.5)
        for end in (0, 1):
            if rng.random() < 0.55:
                _paint_crossing(layers, net, road, end, cfg)


def _paint_crossing(layers: Layers, net: RoadNetwork, road, end: int, cfg: RoadConfig) -> None:
    """A zebra crossing near one end of ``road`` plus a stop line just before it."""
    node = road.a if end == 0 else road.b
    pts = road.points_enu_m if end == 0 else road.points_enu_m[::-1]
    s_mid = _clear_m(net, node, cfg) + STRIPE_LEN_M / 2
    center, along = pl.point_at(pts, s_mid)
    across = np.array([-along[1], along[0]])
    half = road.width_m / 2 - 0.4
    for off in np.arange(-half + STRIPE_M / 2, half, 2 * STRIPE_M):
        poly = pl.rect_polygon(center + across * off, along, STRIPE_LEN_M, STRIPE_M)
        _fill(layers, poly)
    # The stop line for traffic approaching this node: across the lane(s) on the right of the
    # approach direction (which is -along here, so the right-hand side is +across).
    stop_c = center + along * (STRIPE_LEN_M / 2 + 1.0) + across * (road.width_m / 4)
    _fill(layers, pl.rect_polygon(stop_c, across, road.width_m / 2 - 0.3, 0.4))


def _fill(layers: Layers, polygon: np.ndarray) -> None:
    hit = polygon_mask(layers.grid, polygon)
    if hit is None:
        return
    rows, cols, mask = hit
    layers.ground_rgb[rows, cols][mask] = tx.MARKING_RGB
    layers.class_map[rows, cols][mask] = MARKING


def paint_road_details(layers: Layers, net: RoadNetwork, rng) -> None:
    """Manhole covers and asphalt repair patches: small landmarks visible from both views."""
    for road in net.roads:
        length = road.length_m
        for _ in range(rng.poisson(length / 25.0)):
            p, along = pl.point_at(road.points_enu_m, rng.uniform(0, length))
            n = np.array([-along[1], along[0]])
            p = p + n * rng.uniform(-0.35, 0.35) * road.width_m
            if rng.random() < 0.6:
                draw_disc(layers.ground_rgb, layers.grid, p, rng.uniform(0.3, 0.4), (44, 44, 46))
            else:
                poly = pl.rect_polygon(p, along, rng.uniform(1.5, 5.0), rng.uniform(0.8, 2.5))
                hit = polygon_mask(layers.grid, poly)
                if hit is not None:
                    rows, cols, mask = hit
                    tone = rng.uniform(0.75, 1.25)
                    roi = layers.ground_rgb[rows, cols]
                    on_road = mask & (layers.class_map[rows, cols] == ROAD)
                    roi[on_road] = np.clip(roi[on_road] * tone, 0, 255).astype(np.uint8)


def blur_edges(layers: Layers) -> None:
    """Soften painted edges slightly (a 3x3 Gaussian), as a camera/orthophoto would."""
    layers.ground_rgb[:] = cv2.GaussianBlur(layers.ground_rgb, (3, 3), 0.6)
