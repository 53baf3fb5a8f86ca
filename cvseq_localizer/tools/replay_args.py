"""Command-line flags and the offline ``PipelineConfig`` for a bag (replay, evaluate, demo):
tiles and camera from the simulator's files beside the bag unless given, the shipped model by
default, deterministic tile waits."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from cvseq_localizer.pipeline import PipelineConfig
from cvseq_localizer.shipped import DEFAULT_MODEL, default_model
from cvseq_localizer.tiles.factory import CacheOptions

log = logging.getLogger(__name__)


def add_bag_args(parser: argparse.ArgumentParser, bag_help: str) -> None:
    """The bag, the output directory and the input topics (replay and evaluate)."""
    parser.add_argument('bag', type=Path, help=bag_help)
    parser.add_argument('--out', type=Path, required=True, help='output directory')
    parser.add_argument('--image-topic', default='/camera/image_raw')
    parser.add_argument('--fix-topic', default='/gnss/fix')
    parser.add_argument(
        '--odom-topic', default='/odom', help="wheel odometry, used when present ('' = never)"
    )
    parser.add_argument(
        '--strict', action='store_true', help='stop at the first bad record (default: skip it)'
    )
    add_pipeline_args(parser)


def add_pipeline_args(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by replay, evaluate and the demo."""
    parser.add_argument(
        '--model',
        default='',
        help="checkpoint .pt, ONNX export dir or 'geometric' (default: the shipped model)",
    )
    parser.add_argument('--engine', default='auto', choices=['auto', 'torch', 'onnx'])
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda[:N]'")
    parser.add_argument('--tiles', default='', help='tile source (default: next to the bag)')
    parser.add_argument(
        '--tiles-cache', default='', metavar='PATH', help='sqlite disk cache of HTTP tiles'
    )
    parser.add_argument(
        '--tiles-cache-max-mb', type=int, default=2048, metavar='N',
        help='size cap of the tile cache, MiB (>= 1; least recently used tiles are evicted)',
    )  # fmt: skip
    parser.add_argument(
        '--tiles-offline', action='store_true', help='HTTP tiles from the cache only (no network)'
    )
    parser.add_argument('--zoom', type=int, default=None, help='source tile zoom')
    parser.add_argument('--seed', type=int, default=0, help='particle filter seed')
    parser.add_argument('--gnss-only', action='store_true', help='do not run the network')


def pipeline_for_bag(
    bag: Path,
    model: str | Path | None = None,
    *,
    gnss_only: bool = False,
    engine: str = 'auto',
    device: str = 'cpu',
    tiles: str = '',
    zoom: int | None = None,
    seed: int = 0,
    tiles_cache: CacheOptions | None = None,
) -> PipelineConfig:
    """The offline PipelineConfig for ``bag``: tiles block (deterministic), default tiles and zoom
    are the simulator's files beside the bag, ``model=None`` is the shipped weights (GNSS-only
    with a warning when they are missing; an explicit model that fails to load is an error).
    ``tiles_cache`` is the disk cache of an HTTP ``tiles`` source, written into its spec string."""
    from cvseq_localizer.tools.scenario_files import camera_for_bag, default_tiles_for_bag

    if not tiles:
        tiles, found_zoom = default_tiles_for_bag(bag)
        zoom = zoom or found_zoom
    if tiles_cache is not None and tiles_cache.path:
        tiles = tiles_with_cache(tiles, tiles_cache)
    explicit = model is not None and str(model) != ''
    if not gnss_only and not explicit:
        model = default_model()
        if model is None:
            log.warning('no shipped weights (%s) found: running GNSS-only', DEFAULT_MODEL)
    return PipelineConfig(
        model_path='' if gnss_only or model is None else str(model),
        engine=engine,
        device=device,
        tiles=tiles,
        tile_zoom=zoom or 19,
        tile_deadline_s=None,  # offline: wait for every tile (deterministic)
        allow_gnss_only=gnss_only or not explicit,
        seed=seed,
        camera=camera_for_bag(bag),
    )


def tiles_with_cache(tiles: str, cache: CacheOptions) -> str:
    """``tiles`` with ``cache`` as ``#cache=...&cache_max_mb=...&offline=...`` options (they win
    over the spec's own); a file source is local already and keeps its spec (with a warning).

    Raises:
        ValueError: a cache size below 1 MiB (the spec string has no 'unbounded').
    """
    from urllib.parse import urlencode

    from cvseq_localizer.tiles.factory import parse_spec_options

    if cache.max_mb < 1:
        raise ValueError(f'--tiles-cache-max-mb {cache.max_mb} must be >= 1')
    spec, _, fragment = tiles.partition('#')
    if spec.partition('://')[0].lower() not in ('http', 'https', 'tms+http', 'tms+https'):
        log.warning('tile cache options ignored: %s is not an HTTP tile source', spec)
        return tiles
    options = {**parse_spec_options(fragment), **cache.as_options()}
    text = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in options.items()}
    return f'{spec}#{urlencode(text, safe="/:")}'


def pipeline_from_args(args: argparse.Namespace, bag: Path) -> PipelineConfig:
    """:func:`pipeline_for_bag` from the :func:`add_pipeline_args` flags."""
    cache = CacheOptions(args.tiles_cache, args.tiles_cache_max_mb, args.tiles_offline)
    return pipeline_for_bag(
        bag, args.model or None, gnss_only=args.gnss_only, engine=args.engine,
        device=args.device, tiles=args.tiles, zoom=args.zoom, seed=args.seed, tiles_cache=cache,
    )  # fmt: skip
