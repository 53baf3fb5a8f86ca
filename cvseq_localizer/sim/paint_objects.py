"""Painting raised objects: buildings (flat and gabled roofs), parking lots, cars, trees, poles.

Each object writes its top colour, side colour, height and class into ``Layers`` within the small
region of interest of its footprint.
"""

from __future__ import annotations

import numpy as np

from cvseq_localizer.sim import polyline as pl
from cvseq_localizer.sim import textures as tx
from cvseq_localizer.sim.layers import (
    BUILDING,
    CAR,
    MARKING,
    PARKING,
    POLE,
    TREE,
    TRUNK,
    Layers,
    polygon_mask,
)
from cvseq_localizer.sim.roads import RoadNetwork

CAR_LEN_M, CAR_W_M, CAR_H_M = 4.4, 1.8, 1.5


def _free(layers: Layers, occupied: np.ndarray, polygon: np.ndarray):
    """The polygon's ROI if it lies fully inside the grid on free cells, else ``None``."""
    hit = polygon_mask(layers.grid, polygon)
    if hit is None:
        return None
    rows, cols, mask = hit
    inside = mask.shape == (rows.stop - rows.start, cols.stop - cols.start)
    u, v = layers.grid.enu_to_px(polygon[:, 0], polygon[:, 1])
    in_grid = u.min() > 1 and v.min() > 1
    in_grid &= u.max() < layers.grid.width_px - 1 and v.max() < layers.grid.height_px - 1
    if not (inside and in_grid) or np.any(occupied[rows, cols][mask]):
        return None
    return hit


def _gable_heights(layers, rows, cols, center, along, width_m, eave_m, rise_m) -> np.ndarray:
    """Roof height over the ROI for a ridge along ``along`` through ``center``."""
    r = np.arange(rows.start, rows.stop) + 0.5
    c = np.arange(cols.start, cols.stop) + 0.5
    east, north = layers.grid.px_to_enu(c[None, :], r[:, None])
    across = (east - center[0]) * -along[1] + (north - center[1]) * along[0]
    return eave_m + rise_m * np.clip(1.0 - np.abs(across) / (width_m / 2), 0, 1), across


def paint_building(
    layers: Layers, occupied: np.ndarray, center, yaw_rad: float, size_m: tuple[float, float], rng
) -> bool:
    """A building (``size_m`` = length along ``yaw_rad``, width) with a flat or gabled roof.

    Returns ``False`` (and paints nothing) if the footprint is not free.
    """
    length, width = size_m
    along = np.array([np.cos(yaw_rad), np.sin(yaw_rad)])
    poly = pl.rect_polygon(center, along, length, width)
    hit = _free(layers, occupied, poly)
    if hit is None:
        return False
    rows, cols, mask = hit
    floors = int(rng.integers(2, 7))
    eave = floors * 3.0 + rng.uniform(0.0, 1.0)
    gabled = rng.random() < 0.5
    roof = tx.jitter_rgb(tx.ROOF_RGB[rng.integers(0, 3) if gabled else rng.integers(3, 6)], rng)
    heights, across = _gable_heights(
        layers, rows, cols, center, along, width, eave, rng.uniform(2.5, 5.0) if gabled else 0.0
    )
    top = np.empty(mask.shape + (3,), np.float32)
    top[:] = roof
    if gabled:  # the two roof halves face different ways: one lit, one darker
        top[across < 0] *= 0.78
    else:
        _roof_boxes(top, rows, cols, center, along, length, width, layers, rng)
    _write_object(
        layers,
        rows,
        cols,
        mask,
        top,
        tx.jitter_rgb(tx.FACADE_RGB[rng.integers(0, 7)], rng, 0.06),
        heights,
        BUILDING,
    )
    occupied[rows, cols] |= mask
    return True


def _roof_boxes(top, rows, cols, center, along, length, width, layers, rng) -> None:
    """HVAC boxes and skylights: dark/light rectangles on flat roofs."""
    for _ in range(rng.integers(1, 5)):
        off = along * rng.uniform(-0.35, 0.35) * length
        off += np.array([-along[1], along[0]]) * rng.uniform(-0.3, 0.3) * width
        box = pl.rect_polygon(center + off, along, rng.uniform(1.0, 3.5), rng.uniform(1.0, 2.5))
        _, _, m = polygon_mask(layers.grid, box, roi=(rows, cols))
        top[m] *= rng.choice([0.55, 1.35])


def _write_object(layers, rows, cols, mask, top, side_rgb, heights, cls) -> None:
    layers.top_rgb[rows, cols][mask] = np.clip(top[mask], 0, 255).astype(np.uint8)
    layers.side_rgb[rows, cols][mask] = side_rgb
    layers.height_m[rows, cols][mask] = np.broadcast_to(heights, mask.shape)[mask]
    layers.base_m[rows, cols][mask] = 0.0
    layers.class_map[rows, cols][mask] = cls


def paint_car(layers: Layers, center, along, rng, occupied: np.ndarray | None = None) -> None:
    """A parked car (box 4.4 x 1.8 x 1.5 m) with a darker windscreen/roof window band."""
    poly = pl.rect_polygon(center, along, CAR_LEN_M * rng.uniform(0.9, 1.1), CAR_W_M)
    hit = polygon_mask(layers.grid, poly)
    if hit is None:
        return
    rows, cols, mask = hit
    body = tx.jitter_rgb(tx.CAR_RGB[rng.integers(0, len(tx.CAR_RGB))], rng, 0.05)
    r = np.arange(rows.start, rows.stop) + 0.5
    c = np.arange(cols.start, cols.stop) + 0.5
    east, north = layers.grid.px_to_enu(c[None, :], r[:, None])
    s = (east - center[0]) * along[0] + (north - center[1]) * along[1]
    top = np.empty(mask.shape + (3,), np.float32)
    top[:] = body
    top[(np.abs(s) > 0.5) & (np.abs(s) < 1.3)] *= 0.35  # windscreens front and back
    _write_object(layers, rows, cols, mask, top, body, CAR_H_M, CAR)
    if occupied is not None:
        occupied[rows, cols] |= mask


def paint_parking_lot(layers: Layers, occupied: np.ndarray, center, yaw_rad: float, rng) -> bool:
    """An asphalt lot with painted stalls, most of them taken by cars."""
    along = np.array([np.cos(yaw_rad), np.sin(yaw_rad)])
    across = np.array([-along[1], along[0]])
    n_stalls, stall_w, stall_d = int(rng.integers(4, 10)), 2.6, 5.0
    length, width = n_stalls * stall_w + 1.0, 2 * stall_d + 6.0
    hit = _free(layers, occupied, pl.rect_polygon(center, along, length, width))
    if hit is None:
        return False
    rows, cols, mask = hit
    tex = tx.tinted(tx.PARKING_RGB, tx.value_noise(mask.shape, 30, rng), 0.08)
    layers.ground_rgb[rows, cols][mask] = tex[mask]
    layers.top_rgb[rows, cols][mask] = tex[mask]
    layers.class_map[rows, cols][mask] = PARKING
    for row_side in (-1, 1):
        row_c = center + across * row_side * (width / 2 - stall_d / 2)
        for k in range(n_stalls + 1):
            x = (k - n_stalls / 2) * stall_w
            line = pl.rect_polygon(row_c + along * x, across, stall_d, 0.15)
            _paint_flat(layers, line, tx.MARKING_RGB, MARKING)
            if k < n_stalls and rng.random() < 0.7:
                paint_car(layers, row_c + along * (x + stall_w / 2), across, rng)
    occupied[rows, cols] |= mask
    return True


def _paint_flat(layers: Layers, polygon, rgb, cls) -> None:
    hit = polygon_mask(layers.grid, polygon)
    if hit is not None:
        rows, cols, mask = hit
        layers.ground_rgb[rows, cols][mask] = rgb
        layers.top_rgb[rows, cols][mask] = rgb
        layers.class_map[rows, cols][mask] = cls


def paint_tree(layers: Layers, center, rng, radius_m: float | None = None) -> None:
    """A tree: a round crown (base ~2.5 m, top 6-14 m) over a 0.5 m trunk."""
    radius = rng.uniform(1.6, 3.8) if radius_m is None else radius_m
    top_m = rng.uniform(6.0, 14.0) * (0.6 + 0.4 * radius / 3.8)
    base_m = rng.uniform(2.0, 3.2)
    ang = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    wobble = radius * rng.uniform(0.85, 1.1, 20)
    poly = np.asarray(center) + np.stack([np.cos(ang), np.sin(ang)], axis=1) * wobble[:, None]
    hit = polygon_mask(layers.grid, poly)
    if hit is None:
        return
    rows, cols, mask = hit
    r = np.arange(rows.start, rows.stop) + 0.5
    c = np.arange(cols.start, cols.stop) + 0.5
    east, north = layers.grid.px_to_enu(c[None, :], r[:, None])
    dist = np.hypot(east - center[0], north - center[1])
    green = np.asarray(tx.jitter_rgb(tx.TREE_RGB[rng.integers(0, 4)], rng, 0.08), np.float32)
    shade = 1.15 - 0.45 * np.clip(dist / radius, 0, 1) + rng.normal(0, 0.08, mask.shape)
    top = green[None, None, :] * shade[..., None]
    heights = base_m + (top_m - base_m) * np.sqrt(np.clip(1 - (dist / radius) ** 2, 0.05, 1))
    _write_object(
        layers, rows, cols, mask, top, tuple(int(v) for v in green * 0.85), heights, TREE
    )
    layers.base_m[rows, cols][mask] = base_m
    trunk = mask & (dist < 0.3)
    layers.base_m[rows, cols][trunk] = 0.0
    layers.side_rgb[rows, cols][trunk] = tx.TRUNK_RGB
    layers.class_map[rows, cols][trunk] = TRUNK


def paint_pole(layers: Layers, center, radius_m: float, height_m: float, rgb) -> None:
    """A vertical pole/marker column (e.g. a street lamp or a test target) of one colour."""
    ang = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    poly = np.asarray(center) + np.stack([np.cos(ang), np.sin(ang)], axis=1) * radius_m
    hit = polygon_mask(layers.grid, poly)
    if hit is None:
        return
    rows, cols, mask = hit
    top = np.empty(mask.shape + (3,), np.float32)
    top[:] = rgb
    _write_object(layers, rows, cols, mask, top, rgb, height_m, POLE)


def road_side_points(net: RoadNetwork, spacing_m: float, side_offset_m, rng):
    """Yield ``(point, tangent, road)`` along every road's right and left edges."""
    for road in net.roads:
        length = road.length_m
        for sign in (-1.0, 1.0):
            s = rng.uniform(8, 8 + spacing_m)
            while s < length - 8:
                p, t = pl.point_at(road.points_enu_m, s)
                n = np.array([-t[1], t[0]])
                yield p + n * sign * side_offset_m(road), t, road
                s += spacing_m * rng.uniform(0.7, 1.3)
