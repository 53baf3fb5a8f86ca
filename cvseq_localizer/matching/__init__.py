"""Training-free geometric matching (reference engine) and the single-frame evaluation harness."""

from cvseq_localizer.matching.geometric import (
    GeoEngineOutput,
    GeometricConfig,
    GeometricMatcher,
    GeoTile,
)

__all__ = ['GeoEngineOutput', 'GeoTile', 'GeometricConfig', 'GeometricMatcher']
