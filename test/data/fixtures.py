"""Builders of tiny on-disk datasets in the exact real layouts (CVIS JSON, KITTI raw + CVL maps).

Positions are placed in metres through ``LocalFrame`` (pyproj), never through the Web Mercator
code under test. Camera frames encode their frame number in every pixel so tests can tell which
frames a loader picked.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from pyproj import Transformer

from cvseq_localizer.geo import LocalFrame

# Burlington, Vermont (CVIS) and Karlsruhe (KITTI).
CVIS_LATLON = (44.4759, -73.2121)
KITTI_LLA = (49.0, 8.4, 112.0)
# EPSG:3857 metres per world pixel at zoom 0 (2 pi a / 256), for independent expectations.
_MERC_M_PER_PX_Z0 = 2 * np.pi * 6378137.0 / 256
_TO_MERC = Transformer.from_crs('EPSG:4326', 'EPSG:3857', always_xy=True)


def write_png(path: Path, image: np.ndarray) -> Path:
    """Write an RGB uint8 image as PNG (creating folders)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)), path
    return path


def frame_image(value: int, hw: tuple[int, int]) -> np.ndarray:
    """A constant RGB frame whose pixels all equal ``value % 256``."""
    return np.full((*hw, 3), value % 256, np.uint8)


def offsets_to_latlon(lat0: float, lon0: float, en_m: np.ndarray) -> np.ndarray:
    """``[N, 2]`` ``(east, north)`` metres from ``(lat0, lon0)`` -> ``[N, 2]`` ``(lat, lon)``."""
    en = np.asarray(en_m, np.float64)
    lat, lon, _ = LocalFrame(lat0, lon0).to_geodetic(en[:, 0], en[:, 1])
    return np.stack([lat, lon], axis=-1)


def expected_tile_px(latlon: np.ndarray, center: tuple[float, float], zoom: int, tile_px: float):
    """Independent expectation (pyproj EPSG:3857): ``[N, 2]`` pixels of points in a north-up tile
    of ``tile_px`` image pixels per ``tile_px`` world pixels at ``zoom``, centred at ``center``."""
    x, y = _TO_MERC.transform(latlon[:, 1], latlon[:, 0])
    xc, yc = _TO_MERC.transform(center[1], center[0])
    m_per_px = _MERC_M_PER_PX_Z0 / 2**zoom
    return np.stack([(x - xc) / m_per_px, (yc - y) / m_per_px], axis=-1) + tile_px / 2


def write_cvis_sequence(
    root: Path,
    number: int,
    en_m: np.ndarray,
    center: tuple[float, float] = CVIS_LATLON,
    sat_px: int = 640,
    ground_hw: tuple[int, int] = (108, 192),
    keys: list[str] | None = None,
) -> np.ndarray:
    """Write ``json/2019_JSON/<number>.json``, its satellite tile and street views.

    Street view ``img_k`` (k from 1) is placed at ``en_m[k - 1]`` metres from ``center`` and its
    pixels equal ``10 * k``. ``keys`` sets the JSON key order. Returns ``[T, 2]`` lat/lon.
    """
    latlon = offsets_to_latlon(*center, en_m)
    keys = keys or [f'img_{k + 1}' for k in range(len(latlon))]
    views = {}
    for key in keys:
        k = int(key.split('_')[1])
        name = f'{number}_{k}.jpg.png'
        write_png(root / 'street' / '2019_street' / name, frame_image(10 * k, ground_hw))
        lat, lon = latlon[k - 1]
        views[key] = {'name': name, 'lat': float(lat), 'lon': float(lon)}
    sat = np.zeros((sat_px, sat_px, 3), np.uint8)
    sat[:, :, 0] = np.linspace(0, 255, sat_px, dtype=np.uint8)[None, :]
    sat_name = f'satellite/{number}_20.png'
    write_png(root / sat_name, sat)
    doc = {'center': list(center), 'satellite_views': {'20': sat_name}, 'street_views': views}
    json_path = root / 'json' / '2019_JSON' / f'{number}.json'
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(doc))
    return latlon


# vf vl vu ax ay az af al au wx wy wz wf wl wu (15), pos/vel accuracy, 5 integer status fields.
OXTS_TAIL = '5.0 0.1 0.0 0.2 0.1 9.8 0.2 0.1 9.8 0.0 0.0 0.01 0.0 0.0 0.01 0.5 0.05 4 10 4 4 0'


def oxts_line(lat: float, lon: float, alt: float, yaw: float) -> str:
    """A 30-field OXTS line: lat lon alt roll pitch yaw vn ve + 22 further fields."""
    return f'{lat:.12f} {lon:.12f} {alt:.6f} 0.01 -0.02 {yaw:.6f} 1.0 2.0 {OXTS_TAIL}'


def write_kitti_drive(
    root: Path,
    xy_enu_m: np.ndarray,
    drive_no: int = 1,
    date: str = '2011_09_26',
    image_hw: tuple[int, int] = (6, 20),
) -> Path:
    """Write a synced KITTI raw drive whose frame ``i`` is at ``xy_enu_m[i]`` (metres from
    ``KITTI_LLA``); camera pixels equal ``i % 256``. Returns the drive folder."""
    drive = root / date / f'{date}_drive_{drive_no:04d}_sync'
    latlon = offsets_to_latlon(*KITTI_LLA[:2], xy_enu_m)
    stamps = []
    for i, (lat, lon) in enumerate(latlon):
        write_png(drive / 'image_02' / 'data' / f'{i:010d}.png', frame_image(i, image_hw))
        oxts = drive / 'oxts' / 'data' / f'{i:010d}.txt'
        oxts.parent.mkdir(parents=True, exist_ok=True)
        oxts.write_text(oxts_line(lat, lon, KITTI_LLA[2], 0.5) + '\n')
        stamps.append(f'{date.replace("_", "-")} 13:02:{i // 10:02d}.{i % 10}00000000')
    (drive / 'image_02' / 'timestamps.txt').write_text('\n'.join(stamps) + '\n')
    return drive


def write_kitti_sat_maps(sat_root: Path, drive: Path, size_px: int) -> None:
    """A ``size_px`` map per frame of ``drive`` at ``<sat_root>/<date>/<drive>/<frame>.png``."""
    sat = np.zeros((size_px, size_px, 3), np.uint8)
    sat[:, :, 1] = np.linspace(0, 255, size_px, dtype=np.uint8)[:, None]
    for image in sorted((drive / 'image_02' / 'data').glob('*.png')):
        write_png(sat_root / drive.parent.name / drive.name / image.name, sat)


def straight_drive(n: int, spacing_m: float, heading_deg: float = 30.0) -> np.ndarray:
    """``[n, 2]`` ENU positions on a straight line, ``spacing_m`` apart, heading CCW from east."""
    h = np.radians(heading_deg)
    s = np.arange(n) * spacing_m
    return np.stack([s * np.cos(h), s * np.sin(h)], axis=-1)
