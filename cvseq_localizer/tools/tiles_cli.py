"""`cvseq-tiles`: satellite tile utilities.

    cvseq-tiles prefill --source SPEC --out tiles.mbtiles --zoom 20 --bbox W,S,E,N
    cvseq-tiles prefill --source SPEC --out tiles.mbtiles --zoom 20 --route drive.gpx --buffer-m 60

SPEC is anything ``open_tile_source`` takes (an URL template, mbtiles://, dir://, geotiff://).
The filled MBTiles then serves the drive offline: ``--source mbtiles:///path/tiles.mbtiles``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tqdm import tqdm

from cvseq_localizer.tiles import open_tile_source
from cvseq_localizer.tiles.prefill import (
    PrefillStats,
    bbox_tiles,
    prefill,
    read_route,
    route_tiles,
)


def prefill_main(
    source: str,
    out: Path,
    zoom: int,
    bbox: tuple[float, float, float, float] | None = None,
    route: Path | None = None,
    buffer_m: float = 50.0,
    tile_px: int = 256,
    workers: int = 4,
    show_progress: bool = True,
) -> PrefillStats:
    """Fill ``out`` with the tiles of ``bbox`` (west, south, east, north deg) or along ``route``
    (GPX/CSV, within ``buffer_m`` metres) at ``zoom`` from ``source``."""
    if (bbox is None) == (route is None):
        raise ValueError('give exactly one of bbox or route')
    spec = source if tile_px == 256 else {'uri': source, 'tile_px': tile_px}
    src = open_tile_source(spec)
    try:
        if bbox is not None:
            tiles = bbox_tiles(*bbox, zoom, src.tile_px)
        else:
            tiles = route_tiles(read_route(route), buffer_m, zoom, src.tile_px)
        with tqdm(total=len(tiles), unit='tile', disable=not show_progress) as bar:
            return prefill(src, out, tiles, workers=workers, progress=bar.update)
    finally:
        src.close()


def _bbox(text: str) -> tuple[float, float, float, float]:
    parts = [float(v) for v in text.split(',')]
    if len(parts) != 4:
        raise argparse.ArgumentTypeError('bbox is west,south,east,north in degrees')
    return parts[0], parts[1], parts[2], parts[3]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='cvseq-tiles', description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    p = sub.add_parser('prefill', help='fill an MBTiles file for offline use')
    p.add_argument('--source', required=True, help='tile source (URL template, mbtiles://...)')
    p.add_argument('--out', required=True, type=Path, help='MBTiles file to create or extend')
    p.add_argument('--zoom', required=True, type=int, help='tile zoom level, e.g. 19 or 20')
    area = p.add_mutually_exclusive_group(required=True)
    area.add_argument('--bbox', type=_bbox, help='west,south,east,north in degrees')
    area.add_argument('--route', type=Path, help='GPX or CSV (lat, lon columns) route')
    p.add_argument('--buffer-m', type=float, default=50.0, help='metres around the route')
    p.add_argument('--tile-px', type=int, default=256, help='source tile size (256 or 512)')
    p.add_argument('--workers', type=int, default=4, help='parallel downloads')
    p.add_argument('--quiet', action='store_true', help='no progress bar')
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s: %(message)s')
    try:
        stats = prefill_main(
            args.source,
            args.out,
            args.zoom,
            args.bbox,
            args.route,
            args.buffer_m,
            args.tile_px,
            args.workers,
            show_progress=not args.quiet,
        )
    except (ValueError, OSError) as err:
        print(f'cvseq-tiles: error: {err}', file=sys.stderr)
        return 2
    print(
        f'{args.out}: {stats.written} written, {stats.skipped_existing} already there, '
        f'{stats.not_found} not on the server, {stats.failed} failed (of {stats.requested})'
    )
    for message in stats.errors:
        print(f'  {message}', file=sys.stderr)
    return 1 if stats.failed else 0


if __name__ == '__main__':
    sys.exit(main())
