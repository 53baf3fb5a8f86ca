"""Crop/resize satellite ``GeoImage``s and turn lat/lon positions into a labelled sample.

Crops and resizes keep the georeference exact: a resize goes through ``GeoImage.with_image``
(same footprint, new scale); a crop is a new ``GeoImage`` whose origin is the world pixel of the
crop's top-left corner (``GeoImage.pixel_to_world_px``). No unit conversion happens here.
"""

from __future__ import annotations

import numpy as np

from cvseq_localizer.data.images import resize_square
from cvseq_localizer.data.sample import SequenceSample, latlon_to_tile_px
from cvseq_localizer.geo import GeoImage


def crop_geo(geo: GeoImage, left_px: int, top_px: int, width_px: int, height_px: int) -> GeoImage:
    """The sub-rectangle ``[top, top + height) x [left, left + width)`` (image pixels) as a
    GeoImage with the same zoom and scale."""
    if (
        left_px < 0
        or top_px < 0
        or left_px + width_px > geo.width
        or top_px + height_px > geo.height
    ):
        raise ValueError(
            f'crop {width_px}x{height_px} at ({left_px}, {top_px}) exceeds the '
            f'{geo.width}x{geo.height} image'
        )
    x0, y0 = geo.pixel_to_world_px(left_px, top_px)
    image = geo.image[top_px : top_px + height_px, left_px : left_px + width_px]
    return GeoImage(np.ascontiguousarray(image), geo.zoom, (float(x0), float(y0)), geo.scale)


def center_crop_geo(geo: GeoImage, size_px: int) -> GeoImage:
    """Centred ``size_px`` square crop (e.g. the paper's 640 from KITTI-CVL's 1280)."""
    if size_px > min(geo.width, geo.height):
        raise ValueError(f'cannot centre-crop {size_px} px from a {geo.width}x{geo.height} tile')
    return crop_geo(geo, (geo.width - size_px) // 2, (geo.height - size_px) // 2, size_px, size_px)


def resize_geo(geo: GeoImage, size_px: int) -> GeoImage:
    """Resize a square tile to ``size_px``; the footprint is kept, metres per pixel follow."""
    return geo.with_image(resize_square(geo.image, size_px))


def labelled_sample(
    ground: np.ndarray,
    geo: GeoImage,
    lat_deg: np.ndarray,
    lon_deg: np.ndarray,
    name: str,
) -> SequenceSample:
    """A :class:`SequenceSample` with the positions' tile pixels as labels.

    ``metres_per_px`` is the mean of the tile's east and north ground resolution at its centre
    (they differ by up to ~0.35 % because Web Mercator is applied to WGS84 coordinates).

    Raises:
        ValueError: the tile is not square or a position falls outside it (names ``name``).
    """
    if geo.width != geo.height:
        raise ValueError(f'{name}: satellite tile is {geo.width}x{geo.height}, not square')
    uv = latlon_to_tile_px(geo, lat_deg, lon_deg)
    inside = geo.contains_pixel(uv[:, 0], uv[:, 1])
    if not np.all(inside):
        bad = int(np.flatnonzero(~inside)[0])
        raise ValueError(
            f'{name}: frame {bad} at ({lat_deg[bad]:.7f}, {lon_deg[bad]:.7f}) lies outside the '
            f'satellite tile (pixel {uv[bad].round(1).tolist()} of {geo.width})'
        )
    mpp = float(np.mean(geo.metres_per_pixel()))
    return SequenceSample(ground=ground, sat=geo.image, uv_px=uv, metres_per_px=mpp, name=name)
