"""CVIS (SeqGeo) dataset: street-view sequences localised in one satellite tile each.

Layout under ``root``::

    json/2019_JSON/<n>.json      one sequence per file
    satellite/...                satellite tiles (path given in the JSON)
    street/2019_street/<name>    street-view images (1920x1080)

Each JSON holds ``center [lat, lon]`` (degrees), ``satellite_views {"20": path}`` and
``street_views {img_1..img_N: {name, lat, lon}}`` (frames in ``img_<k>`` order).

Georeference assumption (Google Static Maps style): the satellite tile is centred at ``center``
and was rendered at ``zoom`` (default 20) with ``static_scale`` (default 1), i.e. one image pixel
spans ``1 / static_scale`` Web Mercator world pixels at that zoom. A 640 px tile at zoom 20 then
covers ~73 m at ~0.114 m/px (FACTS.md section 1).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cvseq_localizer.data.images import read_rgb, resize_to_width, stack_frames
from cvseq_localizer.data.sample import SequenceSample
from cvseq_localizer.data.tile_ops import labelled_sample, resize_geo
from cvseq_localizer.geo import GeoImage

log = logging.getLogger(__name__)

JSON_DIR = Path('json/2019_JSON')
SAT_DIR = Path('satellite')
STREET_DIR = Path('street/2019_street')
_IMG_KEY = re.compile(r'^img_(\d+)$')


@dataclass(frozen=True)
class CvisRecord:
    """One parsed CVIS JSON.

    Attributes:
        json_path: the file it was read from.
        center_latlon: tile centre ``(lat_deg, lon_deg)``.
        sat_name: satellite image path as written in the JSON.
        street_names: street-view image names, in frame order.
        street_latlon: ``[T, 2]`` street-view ``(lat_deg, lon_deg)``.
    """

    json_path: Path
    center_latlon: tuple[float, float]
    sat_name: str
    street_names: list[str]
    street_latlon: np.ndarray


def _frame_number(key: str, path: Path) -> int:
    match = _IMG_KEY.match(key)
    if match is None:
        raise ValueError(f'{path}: street_views key {key!r} is not of the form img_<k>')
    return int(match.group(1))


def _parse_street_views(views: dict, path: Path) -> tuple[list[str], np.ndarray]:
    if not isinstance(views, dict) or not views:
        raise ValueError(f'{path}: street_views must be a non-empty object')
    names, latlon = [], []
    for key in sorted(views, key=lambda k: _frame_number(k, path)):
        view = views[key]
        try:
            names.append(str(view['name']))
            latlon.append((float(view['lat']), float(view['lon'])))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f'{path}: street view {key!r} lacks a valid name/lat/lon') from err
    return names, np.asarray(latlon, np.float64)


def read_cvis_json(path: str | Path, zoom_key: str = '20') -> CvisRecord:
    """Parse one CVIS sequence file.

    Raises:
        FileNotFoundError: the file is missing.
        ValueError: invalid JSON or missing/ill-typed fields (the message names the file).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise FileNotFoundError(f'CVIS JSON file not found: {path}') from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f'{path}: not valid JSON ({err})') from err
    try:
        lat, lon = (float(v) for v in data['center'])
        sat_name = str(data['satellite_views'][zoom_key])
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(
            f'{path}: needs center [lat, lon] and satellite_views[{zoom_key!r}] ({err!r})'
        ) from err
    names, latlon = _parse_street_views(data.get('street_views'), path)
    return CvisRecord(path, (lat, lon), sat_name, names, latlon)


def _first_existing(candidates: list[Path], what: str) -> Path:
    for path in candidates:
        if path.is_file():
            return path
    tried = ', '.join(str(p) for p in candidates)
    raise FileNotFoundError(f'{what} not found (tried {tried})')


def _read_split_file(path: Path, json_dir: Path) -> list[Path]:
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError as err:
        raise FileNotFoundError(f'CVIS split file not found: {path}') from err
    out = []
    for line in lines:
        entry = line.split('#', 1)[0].strip()
        if entry:
            name = Path(entry).name
            out.append(json_dir / (name if name.endswith('.json') else f'{name}.json'))
    return out


def _sort_key(path: Path) -> tuple[int, str]:
    stem = path.stem
    return (int(stem), stem) if stem.isdigit() else (1 << 62, stem)


class CvisDataset:
    """Torch-style map dataset over CVIS sequences (``len``, ``[i] -> SequenceSample``).

    Args:
        root: dataset root (holds ``json/``, ``satellite/``, ``street/``).
        split_files: text files listing the JSON files of the split, one name or stem per line
            (``#`` starts a comment; entries of several files are concatenated). ``None``: every
            ``json/2019_JSON/*.json``, in numeric order.
        max_frames: keep only the first ``max_frames`` street views of each sequence.
        sat_size: resize the satellite tile to ``sat_size`` px (``None``: as stored, 640).
        ground_width: downscale street views to this width keeping the aspect (``None``: as is).
        zoom: Web Mercator zoom the tiles were rendered at.
        static_scale: Static Maps ``scale`` (image pixels per world pixel).
    """

    def __init__(
        self,
        root: str | Path,
        split_files: Sequence[str | Path] | None = None,
        max_frames: int | None = None,
        sat_size: int | None = None,
        *,
        ground_width: int | None = None,
        zoom: int = 20,
        static_scale: float = 1.0,
    ) -> None:
        self.root = Path(root)
        self.max_frames = max_frames
        self.sat_size = sat_size
        self.ground_width = ground_width
        self.zoom = int(zoom)
        self.static_scale = float(static_scale)
        self.json_paths = self._list_json(split_files)
        log.info('CVIS: %d sequences under %s', len(self.json_paths), self.root)

    def _list_json(self, split_files: Sequence[str | Path] | None) -> list[Path]:
        json_dir = self.root / JSON_DIR
        if split_files is None:
            if not json_dir.is_dir():
                raise FileNotFoundError(f'CVIS JSON folder not found: {json_dir}')
            return sorted(json_dir.glob('*.json'), key=_sort_key)
        paths = [p for f in split_files for p in _read_split_file(Path(f), json_dir)]
        missing = [p for p in paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(
                f'CVIS JSON file(s) listed in the split not found: {missing[:3]}'
            )
        return paths

    def __len__(self) -> int:
        return len(self.json_paths)

    def __getitem__(self, index: int) -> SequenceSample:
        record = read_cvis_json(self.json_paths[index], zoom_key=str(self.zoom))
        t = len(record.street_names) if self.max_frames is None else self.max_frames
        names, latlon = record.street_names[:t], record.street_latlon[:t]
        geo = self.satellite(record)
        street = [self._street_path(n) for n in names]
        ground = stack_frames(
            [resize_to_width(read_rgb(p), self.ground_width) for p in street], street
        )
        name = f'cvis/2019/{record.json_path.stem}'
        return labelled_sample(ground, geo, latlon[:, 0], latlon[:, 1], name)

    def satellite(self, record: CvisRecord) -> GeoImage:
        """The record's satellite tile as a GeoImage (resized to ``sat_size`` if set)."""
        candidates = [self.root / record.sat_name, self.root / SAT_DIR / record.sat_name]
        candidates.append(self.root / SAT_DIR / Path(record.sat_name).name)
        path = _first_existing(candidates, f'satellite image of {record.json_path}')
        image = read_rgb(path)
        if image.shape[0] != image.shape[1]:
            raise ValueError(
                f'satellite image {path} is {image.shape[1]}x{image.shape[0]}, not square'
            )
        step = 1.0 / self.static_scale
        geo = GeoImage.centered(image, *record.center_latlon, self.zoom, (step, step))
        return geo if self.sat_size is None else resize_geo(geo, self.sat_size)

    def _street_path(self, name: str) -> Path:
        candidates = [self.root / STREET_DIR / name, self.root / name]
        return _first_existing(candidates, f'street-view image {name!r}')
