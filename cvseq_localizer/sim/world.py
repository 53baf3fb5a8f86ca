"""``World``: a procedural town in a local ENU frame, with aerial appearance, heights and classes.

The world is a square of ``size_m`` metres centred on the datum (ENU origin), rasterised at
``res_m`` metres per pixel (``EnuGrid``). It is fully determined by its ``WorldConfig`` and the
random generator it is built with.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cv2
import numpy as np

from cvseq_localizer.geo import GeoImage, LocalFrame
from cvseq_localizer.geo.enu_grid import EnuGrid
from cvseq_localizer.sim import paint_objects as po
from cvseq_localizer.sim import paint_roads as pr
from cvseq_localizer.sim import polyline as pl
from cvseq_localizer.sim import textures as tx
from cvseq_localizer.sim.layers import GRASS, Layers, draw_disc
from cvseq_localizer.sim.lighting import cast_shadows, shade_sides
from cvseq_localizer.sim.roads import RoadConfig, RoadNetwork, build_road_network

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorldConfig:
    """What the procedural town looks like and where on Earth it is."""

    lat0_deg: float = 49.011  # datum (ENU origin, world centre) latitude; default Karlsruhe
    lon0_deg: float = 8.417  # datum longitude
    alt0_m: float = 115.0  # datum ellipsoidal height, metres (the world is flat at this height)
    size_m: float = 400.0  # edge of the square world, metres
    res_m: float = 0.2  # raster resolution, metres per pixel
    roads: RoadConfig = field(default_factory=RoadConfig)
    building_spacing_m: float = 14.0  # mean spacing of building sites along each road side
    street_tree_spacing_m: float = 11.0  # mean spacing of street trees (where there is grass)
    park_trees_per_ha: float = 12.0  # free-standing trees per hectare of remaining grass
    parked_car_prob: float = 0.45  # chance that a parking spot along a wide road is taken
    parking_lots: int = 3  # parking lots to try to place
    sun_azimuth_deg: float = 150.0  # aerial image's sun: compass bearing (0 = north, clockwise)
    sun_elevation_deg: float = 48.0  # aerial image's sun elevation above the horizon


class World:
    """A built world: ``frame`` (datum), ``grid``, raster ``layers`` and the road ``network``.

    ``aerial_rgb`` is the orthophoto (``top_rgb`` with cast shadows); call ``refresh()`` after
    painting into ``layers`` so that it (and the side shading) follow.
    """

    def __init__(self, config: WorldConfig, layers: Layers, network: RoadNetwork) -> None:
        self.config = config
        self.frame = LocalFrame(config.lat0_deg, config.lon0_deg, config.alt0_m)
        self.grid = layers.grid
        self.layers = layers
        self.network = network
        self.refresh()

    def refresh(self) -> None:
        """Recompute the derived rasters: shaded sides, aerial image and its pyramid."""
        sun = _sun_vector(self.config)
        self.side_shaded_rgb = shade_sides(self.layers, sun)
        shadow = cast_shadows(self.layers.height_m, self.grid.res_m, sun)
        self.aerial_rgb = _apply_shadow(self.layers.top_rgb, shadow)
        self.aerial_pyramid = [self.aerial_rgb]
        while min(self.aerial_pyramid[-1].shape[:2]) > 64 and len(self.aerial_pyramid) < 6:
            self.aerial_pyramid.append(cv2.pyrDown(self.aerial_pyramid[-1]))

    def render_aerial(self, geo: GeoImage) -> np.ndarray:
        """The orthophoto over the footprint of ``geo`` (``geo.height x geo.width x 3`` uint8)."""
        from cvseq_localizer.sim.aerial import render_aerial

        return render_aerial(self, geo)

    def add_pole(self, xy_enu_m, radius_m: float, height_m: float, rgb=(255, 0, 255)) -> None:
        """Place a vertical marker column (a street lamp, a test target) and refresh."""
        po.paint_pole(self.layers, np.asarray(xy_enu_m, np.float64), radius_m, height_m, rgb)
        self.refresh()


def _sun_vector(config: WorldConfig) -> np.ndarray:
    """Unit vector towards the sun in ENU."""
    az, el = np.radians(config.sun_azimuth_deg), np.radians(config.sun_elevation_deg)
    return np.array([np.sin(az) * np.cos(el), np.cos(az) * np.cos(el), np.sin(el)])


def _apply_shadow(top_rgb: np.ndarray, shadow: np.ndarray) -> np.ndarray:
    # Shadows are lit by the blue sky only: darker and slightly blue.
    gain = 1.0 - shadow[..., None] * np.array([0.58, 0.55, 0.45], np.float32)
    return np.clip(top_rgb * gain, 0, 255).astype(np.uint8)


def _paint_grass(layers: Layers, rng) -> None:
    shape = layers.grid.shape
    grain = rng.normal(0.0, 0.05, shape).astype(np.float32)
    cell = layers.grid.px_len(25.0)
    layers.ground_rgb[:] = tx.tinted(tx.GRASS_RGB, tx.fractal_noise(shape, cell, rng), 0.22, grain)
    layers.class_map[:] = GRASS


def _occupied(layers: Layers, gap_m: float) -> np.ndarray:
    k = max(int(round(layers.grid.px_len(gap_m))) * 2 + 1, 3)
    taken = (layers.class_map != GRASS).astype(np.uint8)
    return cv2.dilate(taken, np.ones((k, k), np.uint8)).astype(bool)


def _street_trees(layers: Layers, net: RoadNetwork, cfg: WorldConfig, occupied, rng) -> None:
    offset = lambda road: road.width_m / 2 + cfg.roads.sidewalk_m + 1.6
    for p, _, _ in po.road_side_points(net, cfg.street_tree_spacing_m, offset, rng):
        if rng.random() < 0.6 and not occupied[layers.grid.enu_to_index(p[0], p[1])]:
            radius = rng.uniform(1.8, 3.2)
            po.paint_tree(layers, p, rng, radius)
            draw_disc(occupied.view(np.uint8), layers.grid, p, radius * 0.8, 1)  # bool as 0/1


def _buildings(layers: Layers, net: RoadNetwork, cfg: WorldConfig, occupied, rng) -> int:
    count = 0
    for road in net.roads:
        length = road.length_m
        for sign in (-1.0, 1.0):
            for s in np.arange(rng.uniform(5, 15), length, cfg.building_spacing_m):
                count += _try_building(layers, road, s, sign, cfg, occupied, rng)
    return count


def _try_building(layers, road, s, sign, cfg, occupied, rng) -> bool:
    p, t = pl.point_at(road.points_enu_m, s)
    normal = np.array([-t[1], t[0]]) * sign
    size = (rng.uniform(9, 26), rng.uniform(8, 16))
    setback = road.width_m / 2 + cfg.roads.sidewalk_m + rng.uniform(2.0, 7.0) + size[1] / 2
    yaw = float(np.arctan2(t[1], t[0])) + rng.normal(0, 0.03)
    return po.paint_building(layers, occupied, p + normal * setback, yaw, size, rng)


def _parking_lots(layers, net: RoadNetwork, cfg: WorldConfig, occupied, rng) -> None:
    placed, tries = 0, 0
    while placed < cfg.parking_lots and tries < 30 * max(cfg.parking_lots, 1):
        tries += 1
        road = net.roads[rng.integers(0, len(net.roads))]
        p, t = pl.point_at(road.points_enu_m, rng.uniform(0.3, 0.7) * road.length_m)
        sign = rng.choice([-1.0, 1.0])
        center = p + np.array([-t[1], t[0]]) * sign * (
            road.width_m / 2 + cfg.roads.sidewalk_m + 10.5
        )
        placed += po.paint_parking_lot(
            layers, occupied, center, float(np.arctan2(t[1], t[0])), rng
        )


def _park_trees(layers: Layers, cfg: WorldConfig, occupied, rng) -> None:
    area_ha = layers.grid.size_m[0] * layers.grid.size_m[1] / 1e4
    half = np.array(layers.grid.size_m) / 2
    for _ in range(int(cfg.park_trees_per_ha * area_ha)):
        p = rng.uniform(-half + 3, half - 3)
        if not occupied[layers.grid.enu_to_index(p[0], p[1])]:
            po.paint_tree(layers, p, rng)


def _parked_cars(layers: Layers, net: RoadNetwork, cfg: WorldConfig, rng) -> None:
    for road in net.roads:
        if road.lanes != 2 or road.width_m < 7.5:
            continue
        for sign in (-1.0, 1.0):
            # Half on the kerb, as on narrow German streets: the driving lane stays free.
            line = pl.offset(road.points_enu_m, sign * (road.width_m / 2 + 0.1))
            for s in np.arange(25.0, road.length_m - 25.0, 5.6):
                if rng.random() < cfg.parked_car_prob:
                    p, t = pl.point_at(line, s)
                    po.paint_car(layers, p, t, rng)


def build_world(config: WorldConfig, rng: np.random.Generator) -> World:
    """Paint a town: grass, roads and markings, parking lots, trees, buildings, parked cars."""
    grid = EnuGrid.centered(config.size_m, config.res_m)
    layers = Layers.empty(grid)
    _paint_grass(layers, rng)
    net = build_road_network(grid.size_m[0], config.roads, rng)
    pr.paint_pavement(layers, net, config.roads, rng)
    pr.paint_markings(layers, net, config.roads, rng)
    pr.paint_road_details(layers, net, rng)
    pr.blur_edges(layers)
    layers.top_rgb[:] = layers.ground_rgb
    occupied = _occupied(layers, 1.0)
    _parking_lots(layers, net, config, occupied, rng)
    _street_trees(layers, net, config, occupied, rng)
    n_buildings = _buildings(layers, net, config, occupied, rng)
    _park_trees(layers, config, _occupied(layers, 2.0), rng)
    _parked_cars(layers, net, config, rng)
    log.info('world: %d roads, %d buildings, %s px', len(net.roads), n_buildings, grid.shape)
    return World(config, layers, net)
