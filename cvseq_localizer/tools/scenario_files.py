"""Find the simulator's companion files (``scenario.json``, ``tiles.mbtiles``) next to a bag."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cvseq_localizer.geo.camera import CameraModel

SCENARIO_FILE = 'scenario.json'
TILES_FILE = 'tiles.mbtiles'


def find_scenario(bag: str | Path) -> Path | None:
    """``scenario.json`` in the bag's directory or its parent, if any."""
    bag = Path(bag)
    for folder in (bag, bag.parent):
        if (folder / SCENARIO_FILE).is_file():
            return folder / SCENARIO_FILE
    return None


def read_scenario(bag: str | Path) -> dict[str, Any]:
    """The scenario metadata of a simulated bag ({} for a real bag)."""
    path = find_scenario(bag)
    return json.loads(path.read_text()) if path else {}


def default_tiles_for_bag(bag: str | Path) -> tuple[str, int | None]:
    """``(tile source spec, zoom)`` of a simulated bag; ``('', None)`` when there is none."""
    path = find_scenario(bag)
    if path is None or not (path.parent / TILES_FILE).is_file():
        return '', None
    meta = json.loads(path.read_text())
    zoom = meta.get('zoom', meta.get('tile_zoom'))
    return f'mbtiles://{(path.parent / TILES_FILE).resolve()}', int(zoom) if zoom else None


CAMERA_FILE = 'camera.json'  # written by cvseq-convert inside the bag directory


def camera_for_bag(bag: str | Path) -> CameraModel | None:
    """The camera a bag was recorded with: ``camera.json`` in the bag directory (cvseq-convert)
    or the simulator's ``scenario.json`` beside it; ``None`` when neither describes it.

    Raises:
        ValueError: the file exists but does not describe a valid camera (names the file).
    """
    bag = Path(bag)
    candidates = [(bag / CAMERA_FILE, None), (find_scenario(bag), 'camera')]
    for path, key in candidates:
        if path is None or not path.is_file():
            continue
        try:
            data = json.loads(path.read_text())
            data = data.get(key) if key else data
            if data is None:
                continue
            if 'fx' not in data and 'hfov_deg' in data:  # scenario.json before CameraModel
                return _legacy_camera(data)
            return CameraModel.from_dict(data)
        except (OSError, ValueError) as exc:
            raise ValueError(f'{path}: not a usable camera description ({exc})') from exc
    return None


def _legacy_camera(data: dict[str, Any]) -> CameraModel:
    """The simulator's former pinhole description (hfov, size, height, pitch)."""
    from cvseq_localizer.geo.camera import CameraMount

    mount = CameraMount(z_m=float(data['height_m']), pitch_rad=float(data['pitch_rad']))
    return CameraModel.from_hfov(
        int(data['width_px']), int(data['height_px']), float(data['hfov_deg']), mount
    )
