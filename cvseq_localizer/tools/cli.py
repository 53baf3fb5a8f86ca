"""`cvseq-localizer`: the umbrella command (``demo`` and friends)."""

from __future__ import annotations

import argparse
import sys


def demo(argv: list[str]) -> int:
    """Placeholder until the simulator/replay demo lands: a real geodesy round trip."""
    from cvseq_localizer.geo import GeoImage, LocalFrame

    print('NOTE: the full demo (simulated drive + replay + report) is not built yet.')
    print('Running the smallest real end-to-end piece available: geodesy round trip.')
    import numpy as np

    geo = GeoImage.centered(np.zeros((256, 256, 3), np.uint8), 49.0092, 8.4194, 20)
    frame = LocalFrame(*geo.center_latlon)
    e, n = geo.pixel_to_enu(np.array([0.0, 256.0]), np.array([0.0, 256.0]), frame)
    print(f'tile corners in ENU: ({e[0]:.2f}, {n[0]:.2f}) m .. ({e[1]:.2f}, {n[1]:.2f}) m')
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='cvseq-localizer', description=__doc__)
    parser.add_argument('command', choices=['demo'], help='what to run')
    args, rest = parser.parse_known_args(argv)
    return {'demo': demo}[args.command](rest)


if __name__ == '__main__':
    sys.exit(main())
