"""``GeoImage``: a north-up raster with an exact georeference.

The georeference is an axis-aligned affine map from image pixels to Web Mercator world pixels at a
reference zoom (exact for imagery that was sampled in Web Mercator, i.e. every XYZ/TMS tile):

    world_x = origin_x + u * scale_x,    world_y = origin_y + v * scale_y

``(u, v)`` are corner-based image pixel coordinates (column, row): ``(0, 0)`` is the top-left
corner of the image, the centre of pixel ``[row, col]`` is ``(col + 0.5, row + 0.5)``. Image up is
true north. Resizing the image only changes the scale.

This class and the rest of ``geo/`` are the only place where pixels, metres and degrees are
converted into each other; everyone else asks a ``GeoImage`` (ARCHITECTURE.md).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from cvseq_localizer.geo.local_frame import LocalFrame
from cvseq_localizer.geo.mercator import (
    ground_resolution,
    latlon_to_world_px,
    world_px_to_latlon,
)


@dataclass(frozen=True)
class GeoImage:
    """An ``H x W (x C)`` north-up image and its georeference.

    Attributes:
        image: ``H x W`` or ``H x W x C`` array (usually uint8 RGB).
        zoom: reference zoom level of the world-pixel coordinates.
        origin_world_px: world pixel ``(x, y)`` of the image's top-left corner.
        scale: world pixels per image pixel ``(x, y)``.
    """

    image: np.ndarray
    zoom: int
    origin_world_px: tuple[float, float]
    scale: tuple[float, float] = (1.0, 1.0)

    def __post_init__(self) -> None:
        if self.image.ndim not in (2, 3):
            raise ValueError(f'GeoImage needs an HxW or HxWxC array, got shape {self.image.shape}')
        if not all(np.isfinite(v) and v > 0 for v in self.scale):
            raise ValueError(f'GeoImage scale {self.scale!r} must be positive and finite')

    # ----------------------------------------------------------------------------- construction
    @classmethod
    def centered(
        cls,
        image: np.ndarray,
        lat_deg: float,
        lon_deg: float,
        zoom: int,
        scale: tuple[float, float] = (1.0, 1.0),
    ) -> GeoImage:
        """A GeoImage whose centre (``W/2, H/2``) lies at the given latitude/longitude."""
        cx, cy = latlon_to_world_px(lat_deg, lon_deg, zoom)
        h, w = image.shape[:2]
        origin = (float(cx) - w / 2 * scale[0], float(cy) - h / 2 * scale[1])
        return cls(image, int(zoom), origin, (float(scale[0]), float(scale[1])))

    def with_image(self, image: np.ndarray) -> GeoImage:
        """Same ground footprint, new pixels (e.g. a resize): the scale follows the new size."""
        h, w = self.image.shape[:2]
        nh, nw = image.shape[:2]
        scale = (self.scale[0] * w / nw, self.scale[1] * h / nh)
        return replace(self, image=image, scale=scale)

    # ------------------------------------------------------------------------------- properties
    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def center_latlon(self) -> tuple[float, float]:
        lat, lon = self.pixel_to_latlon(self.width / 2, self.height / 2)
        return float(lat), float(lon)

    def metres_per_pixel(self) -> tuple[float, float]:
        """Exact ground metres per image pixel ``(east, north)`` at the image centre."""
        east, north = ground_resolution(self.center_latlon[0], self.zoom)
        return east * self.scale[0], north * self.scale[1]

    def bounds_world_px(self) -> tuple[float, float, float, float]:
        """``(x_min, y_min, x_max, y_max)`` of the image in world pixels."""
        x0, y0 = self.origin_world_px
        return x0, y0, x0 + self.width * self.scale[0], y0 + self.height * self.scale[1]

    # ------------------------------------------------------------------------------ conversions
    def pixel_to_world_px(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = self.origin_world_px[0] + np.asarray(u, np.float64) * self.scale[0]
        y = self.origin_world_px[1] + np.asarray(v, np.float64) * self.scale[1]
        return x, y

    def world_px_to_pixel(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = (np.asarray(x, np.float64) - self.origin_world_px[0]) / self.scale[0]
        v = (np.asarray(y, np.float64) - self.origin_world_px[1]) / self.scale[1]
        return u, v

    def pixel_to_latlon(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Image pixel ``(u, v)`` -> ``(lat_deg, lon_deg)``."""
        return world_px_to_latlon(*self.pixel_to_world_px(u, v), self.zoom)

    def latlon_to_pixel(self, lat_deg: np.ndarray, lon_deg: np.ndarray):
        """``(lat_deg, lon_deg)`` -> image pixel ``(u, v)`` (may lie outside the image)."""
        return self.world_px_to_pixel(*latlon_to_world_px(lat_deg, lon_deg, self.zoom))

    def pixel_to_enu(
        self, u: np.ndarray, v: np.ndarray, frame: LocalFrame
    ) -> tuple[np.ndarray, np.ndarray]:
        """Image pixel -> ``(east_m, north_m)`` in ``frame`` (on the datum's height surface)."""
        lat, lon = self.pixel_to_latlon(u, v)
        e, n, _ = frame.to_enu(lat, lon)
        return e, n

    def enu_to_pixel(
        self, east_m: np.ndarray, north_m: np.ndarray, frame: LocalFrame
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(east_m, north_m)`` in ``frame`` -> image pixel ``(u, v)``."""
        lat, lon, _ = frame.to_geodetic(east_m, north_m)
        return self.latlon_to_pixel(lat, lon)

    def contains_pixel(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Boolean mask: pixel position lies inside the image."""
        u = np.asarray(u)
        v = np.asarray(v)
        return (u >= 0) & (v >= 0) & (u < self.width) & (v < self.height)
