"""Geodesy: local ENU frames, Web Mercator math and georeferenced images.

The only place in the package where pixels, metres and degrees are converted.
"""

from cvseq_localizer.geo.bev import BevSpec, bev_maps, project_to_bev
from cvseq_localizer.geo.camera import CameraModel, CameraMount
from cvseq_localizer.geo.enu_grid import EnuGrid
from cvseq_localizer.geo.geoimage import GeoImage
from cvseq_localizer.geo.local_frame import LocalFrame
from cvseq_localizer.geo.mercator import (
    MAX_LAT_DEG,
    TILE_PX,
    check_latlon,
    ground_resolution,
    latlon_to_world_px,
    mercator_m_to_world_px,
    quadkey,
    tile_index,
    tms_row,
    world_px_to_latlon,
    world_px_to_mercator_m,
    world_size_px,
)

__all__ = [
    'MAX_LAT_DEG',
    'TILE_PX',
    'BevSpec',
    'CameraModel',
    'CameraMount',
    'EnuGrid',
    'GeoImage',
    'LocalFrame',
    'bev_maps',
    'check_latlon',
    'ground_resolution',
    'latlon_to_world_px',
    'mercator_m_to_world_px',
    'project_to_bev',
    'quadkey',
    'tile_index',
    'tms_row',
    'world_px_to_latlon',
    'world_px_to_mercator_m',
    'world_size_px',
]
