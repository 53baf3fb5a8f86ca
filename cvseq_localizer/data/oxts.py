"""KITTI raw OXTS (GPS/IMU) packets and sensor timestamps.

Each ``oxts/data/<frame>.txt`` holds one line of 30 whitespace-separated fields (KITTI raw
devkit ``dataformat.txt``)::

    lat lon alt roll pitch yaw vn ve vf vl vu ax ay az af al au wx wy wz wf wl wu
    pos_accuracy vel_accuracy navstat numsats posmode velmode orimode

lat/lon in degrees (WGS84), alt in metres, angles in radians, ``yaw`` 0 = east, positive
counter-clockwise (REP-103), velocities in m/s, accuracies in metres (position) and m/s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

OXTS_FIELDS = (
    'lat lon alt roll pitch yaw vn ve vf vl vu ax ay az af al au wx wy wz wf wl wu '
    'pos_accuracy vel_accuracy navstat numsats posmode velmode orimode'
).split()


@dataclass(frozen=True)
class OxtsPacket:
    """One OXTS record (units in the names; yaw 0 = east, counter-clockwise)."""

    lat_deg: float
    lon_deg: float
    alt_m: float
    roll_rad: float
    pitch_rad: float
    yaw_rad: float
    vn_mps: float
    ve_mps: float
    pos_accuracy_m: float
    numsats: int


def parse_oxts_line(line: str, source: str = '<string>') -> OxtsPacket:
    """Parse one 30-field OXTS line; ``source`` names the file in error messages.

    Raises:
        ValueError: wrong field count, a non-numeric field, or a non-finite/out-of-range
            latitude, longitude or yaw.
    """
    parts = line.split()
    if len(parts) != len(OXTS_FIELDS):
        raise ValueError(
            f'{source}: OXTS line has {len(parts)} fields, expected {len(OXTS_FIELDS)}'
        )
    try:
        v = dict(zip(OXTS_FIELDS, (float(p) for p in parts)))
    except ValueError as err:
        raise ValueError(f'{source}: OXTS line has a non-numeric field ({err})') from err
    if not (abs(v['lat']) <= 90 and abs(v['lon']) <= 180 and math.isfinite(v['yaw'])):
        raise ValueError(f'{source}: OXTS lat/lon/yaw out of range ({v["lat"]}, {v["lon"]})')
    return OxtsPacket(
        lat_deg=v['lat'],
        lon_deg=v['lon'],
        alt_m=v['alt'],
        roll_rad=v['roll'],
        pitch_rad=v['pitch'],
        yaw_rad=v['yaw'],
        vn_mps=v['vn'],
        ve_mps=v['ve'],
        pos_accuracy_m=v['pos_accuracy'],
        numsats=int(v['numsats']),
    )


def read_oxts_file(path: str | Path) -> OxtsPacket:
    """Read ``oxts/data/<frame>.txt`` (first non-empty line).

    Raises:
        FileNotFoundError: the file is missing. ValueError: it is empty or malformed.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError as err:
        raise FileNotFoundError(f'OXTS file not found: {path}') from err
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise ValueError(f'{path}: empty OXTS file')
    return parse_oxts_line(lines[0], str(path))


def read_timestamps_ns(path: str | Path) -> np.ndarray:
    """Read a KITTI ``timestamps.txt`` (``YYYY-MM-DD HH:MM:SS.fffffffff`` per line) as int64
    nanoseconds since the Unix epoch (times taken as written, no time-zone shift).

    Raises:
        FileNotFoundError: missing file. ValueError: a line that is not a timestamp.
    """
    path = Path(path)
    try:
        lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    except FileNotFoundError as err:
        raise FileNotFoundError(f'timestamps file not found: {path}') from err
    out = np.empty(len(lines), np.int64)
    for i, line in enumerate(lines):
        try:
            out[i] = np.datetime64(line.replace(' ', 'T'), 'ns').astype(np.int64)
        except ValueError as err:
            raise ValueError(f'{path}:{i + 1}: not a timestamp: {line!r}') from err
    return out
