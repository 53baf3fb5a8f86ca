"""KITTI-CVL dataset: KITTI raw drives split into the paper's short sequences.

Layout under ``root`` (KITTI raw, synced)::

    <date>/<date>_drive_<nnnn>_sync/image_02/data/<frame>.png
    <date>/<date>_drive_<nnnn>_sync/image_02/timestamps.txt   (optional here)
    <date>/<date>_drive_<nnnn>_sync/oxts/data/<frame>.txt

Each drive is subsampled to a frame every ``step_m`` of travelled distance (measured in a local
ENU frame at the drive's first fix) and split as the paper does (``kitti_split``). A sequence's
satellite tile is the one at its midpoint frame, centre-cropped to ``crop_px`` and resized to
``sat_size`` (paper: 1280 -> 640 -> 256, ~0.49 m/px); labels and metres per pixel come from the
resulting GeoImage.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cvseq_localizer.data.images import read_rgb, resize_to_width, stack_frames
from cvseq_localizer.data.kitti_sat import KittiSatMaps, SatProvider
from cvseq_localizer.data.kitti_split import (
    cumulative_distance,
    split_sequences,
    subsample_by_distance,
)
from cvseq_localizer.data.oxts import OxtsPacket, read_oxts_file, read_timestamps_ns
from cvseq_localizer.data.sample import SequenceSample
from cvseq_localizer.data.tile_ops import center_crop_geo, labelled_sample, resize_geo
from cvseq_localizer.geo import GeoImage, LocalFrame

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class KittiDrive:
    """One synced KITTI raw drive.

    Attributes:
        date: e.g. ``2011_09_26``. name: e.g. ``2011_09_26_drive_0001_sync``.
        frames: frame stems (``0000000000``...), sorted. image_paths: left colour camera files.
        oxts: one packet per frame. timestamps_ns: camera times (int64 ns) or ``None``.
    """

    date: str
    name: str
    path: Path
    frames: list[str]
    image_paths: list[Path]
    oxts: list[OxtsPacket]
    timestamps_ns: np.ndarray | None

    def latlon_deg(self) -> np.ndarray:
        """``[F, 2]`` GPS ``(lat, lon)`` in degrees."""
        return np.array([(p.lat_deg, p.lon_deg) for p in self.oxts], np.float64)

    def xy_enu_m(self) -> np.ndarray:
        """``[F, 2]`` ``(east, north)`` metres in the ENU frame at the first fix."""
        first = self.oxts[0]
        frame = LocalFrame(first.lat_deg, first.lon_deg, first.alt_m)
        ll = self.latlon_deg()
        east, north, _ = frame.to_enu(ll[:, 0], ll[:, 1])
        return np.stack([east, north], axis=-1)


def read_drive(path: str | Path) -> KittiDrive:
    """Read a drive folder's frame list, OXTS packets and (if present) camera timestamps.

    Raises:
        FileNotFoundError: no camera images, or a frame's OXTS file is missing (named).
        ValueError: malformed OXTS, or a timestamp count that differs from the image count.
    """
    path = Path(path)
    image_paths = sorted((path / 'image_02' / 'data').glob('*.png'))
    if not image_paths:
        raise FileNotFoundError(f'no camera images in {path / "image_02" / "data"}')
    frames = [p.stem for p in image_paths]
    oxts = [read_oxts_file(path / 'oxts' / 'data' / f'{f}.txt') for f in frames]
    ts_path = path / 'image_02' / 'timestamps.txt'
    stamps = read_timestamps_ns(ts_path) if ts_path.is_file() else None
    if stamps is not None and len(stamps) != len(frames):
        raise ValueError(f'{ts_path}: {len(stamps)} timestamps for {len(frames)} images')
    return KittiDrive(path.parent.name, path.name, path, frames, image_paths, oxts, stamps)


def find_drives(root: str | Path, names: Sequence[str] | None = None) -> list[Path]:
    """Drive folders ``<root>/<date>/*_drive_*_sync`` (sorted), optionally only ``names``."""
    root = Path(root)
    found = {p.name: p for p in sorted(root.glob('*/*_drive_*_sync')) if p.is_dir()}
    if names is None:
        return list(found.values())
    missing = [n for n in names if n not in found]
    if missing:
        raise FileNotFoundError(f'KITTI drive(s) {missing} not found under {root}')
    return [found[n] for n in names]


@dataclass(frozen=True, eq=False)
class KittiSequence:
    """A sequence: ``frame_idx`` into ``drive.frames``; ``mid_idx`` is the tile's frame."""

    drive: KittiDrive
    frame_idx: np.ndarray
    mid_idx: int


def drive_sequences(
    drive: KittiDrive, step_m: float = 8.0, window_m: float = 50.0, min_frames: int = 6
) -> list[KittiSequence]:
    """The paper's sequences of one drive (see ``kitti_split``)."""
    xy = drive.xy_enu_m()
    kept = subsample_by_distance(cumulative_distance(xy), step_m)
    out = []
    for window in split_sequences(xy[kept], window_m, min_frames):
        idx = kept[window]
        out.append(KittiSequence(drive, idx, int(idx[len(idx) // 2])))
    return out


class KittiCvlDataset:
    """Torch-style map dataset over KITTI-CVL sequences (``len``, ``[i] -> SequenceSample``).

    Args:
        root: KITTI raw root (``<date>/<drive>/...``).
        sat_root: KITTI-CVL satellite maps ``<sat_root>/<date>/<drive>/<frame>.png``; used
            when ``sat_provider`` is ``None``.
        sat_provider: ``(lat_deg, lon_deg) -> GeoImage`` for the sequence midpoint instead.
        drives: drive folder names to use (``None``: all found).
        sat_zoom, sat_static_scale: georeference of the maps under ``sat_root``.
        step_m, window_m, min_frames: the split (paper: 8 m, 50 m, 6).
        crop_px: centre crop of the tile (``None``: whole tile). sat_size: output tile size.
        max_frames: keep the first ``max_frames`` frames of each sequence.
        ground_width: downscale camera frames to this width keeping the aspect.
    """

    def __init__(
        self,
        root: str | Path,
        sat_root: str | Path | None = None,
        *,
        sat_provider: SatProvider | None = None,
        drives: Sequence[str] | None = None,
        sat_zoom: int = 18,
        sat_static_scale: float = 2.0,
        step_m: float = 8.0,
        window_m: float = 50.0,
        min_frames: int = 6,
        crop_px: int | None = 640,
        sat_size: int | None = 256,
        max_frames: int | None = None,
        ground_width: int | None = None,
    ) -> None:
        if sat_root is None and sat_provider is None:
            raise ValueError('KittiCvlDataset needs sat_root or sat_provider')
        self.sat_maps = (
            None if sat_root is None else KittiSatMaps(sat_root, sat_zoom, sat_static_scale)
        )
        self.sat_provider = sat_provider
        self.crop_px, self.sat_size = crop_px, sat_size
        self.max_frames, self.ground_width = max_frames, ground_width
        self.sequences: list[KittiSequence] = []
        for path in find_drives(root, drives):
            seqs = drive_sequences(read_drive(path), step_m, window_m, min_frames)
            log.info('KITTI-CVL: %s -> %d sequences', path.name, len(seqs))
            self.sequences.extend(seqs)

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, index: int) -> SequenceSample:
        seq = self.sequences[index]
        idx = seq.frame_idx if self.max_frames is None else seq.frame_idx[: self.max_frames]
        drive = seq.drive
        ll = drive.latlon_deg()[idx]
        paths = [drive.image_paths[i] for i in idx]
        frames = [resize_to_width(read_rgb(p), self.ground_width) for p in paths]
        name = f'kitti/{drive.name}/{drive.frames[idx[0]]}'
        return labelled_sample(
            stack_frames(frames, paths), self.satellite(seq), ll[:, 0], ll[:, 1], name
        )

    def satellite(self, seq: KittiSequence) -> GeoImage:
        """The sequence's tile at its midpoint frame, cropped and resized."""
        drive = seq.drive
        mid = drive.oxts[seq.mid_idx]
        provider = self.sat_provider
        if provider is None:
            provider = self.sat_maps.for_frame(drive.date, drive.name, drive.frames[seq.mid_idx])
        geo = provider(mid.lat_deg, mid.lon_deg)
        if self.crop_px is not None:
            geo = center_crop_geo(geo, self.crop_px)
        return geo if self.sat_size is None else resize_geo(geo, self.sat_size)
