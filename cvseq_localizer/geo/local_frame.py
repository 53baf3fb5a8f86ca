"""A local East-North-Up frame at a datum, computed exactly with pyproj.

``cart`` converts WGS84 geodetic coordinates to Earth-centred Cartesian, ``topocentric`` rotates
them into the tangent frame at the datum. Unlike treating UTM as ENU, this has no meridian
convergence error (FACTS.md section 3).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pyproj import Transformer

from cvseq_localizer.geo.mercator import check_latlon


@dataclass(frozen=True)
class LocalFrame:
    """ENU frame (metres) with origin at ``(lat0_deg, lon0_deg, alt0_m)`` on WGS84."""

    lat0_deg: float
    lon0_deg: float
    alt0_m: float = 0.0
    _transformer: Transformer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_latlon(self.lat0_deg, self.lon0_deg)
        if not np.isfinite(self.alt0_m):
            raise ValueError(f'datum altitude {self.alt0_m!r} m is not finite')
        pipeline = (
            '+proj=pipeline +step +proj=cart +ellps=WGS84 '
            f'+step +proj=topocentric +ellps=WGS84 +lat_0={self.lat0_deg!r} '
            f'+lon_0={self.lon0_deg!r} +h_0={self.alt0_m!r}'
        )
        object.__setattr__(self, '_transformer', Transformer.from_pipeline(pipeline))

    def to_enu(
        self,
        lat_deg: float | np.ndarray,
        lon_deg: float | np.ndarray,
        alt_m: float | np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Geodetic degrees (+ ellipsoidal height, default the datum's) -> ENU metres."""
        check_latlon(lat_deg, lon_deg)
        alt = self.alt0_m if alt_m is None else alt_m
        lat, lon, alt = np.broadcast_arrays(
            np.asarray(lat_deg, np.float64),
            np.asarray(lon_deg, np.float64),
            np.asarray(alt, np.float64),
        )
        e, n, u = self._transformer.transform(lon, lat, alt)
        return np.asarray(e), np.asarray(n), np.asarray(u)

    def to_geodetic(
        self,
        east_m: float | np.ndarray,
        north_m: float | np.ndarray,
        up_m: float | np.ndarray = 0.0,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """ENU metres -> ``(lat_deg, lon_deg, alt_m)``."""
        e, n, u = np.broadcast_arrays(
            np.asarray(east_m, np.float64),
            np.asarray(north_m, np.float64),
            np.asarray(up_m, np.float64),
        )
        if not (np.all(np.isfinite(e)) and np.all(np.isfinite(n)) and np.all(np.isfinite(u))):
            raise ValueError(f'ENU coordinates ({east_m!r}, {north_m!r}) are not finite')
        lon, lat, alt = self._transformer.transform(e, n, u, direction='INVERSE')
        return np.asarray(lat), np.asarray(lon), np.asarray(alt)
