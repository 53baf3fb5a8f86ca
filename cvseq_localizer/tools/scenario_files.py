"""Find the simulator's companion files (``scenario.json``, ``tiles.mbtiles``) next to a bag."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
