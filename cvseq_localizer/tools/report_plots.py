"""PNG plots of an evaluation: trajectories over the satellite map, error over time, error CDF."""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cvseq_localizer.geo import GeoImage, LocalFrame, latlon_to_world_px  # noqa: E402

log = logging.getLogger(__name__)
COLORS = {
    'ground truth': 'k',
    'raw GNSS': 'tab:red',
    'filter: GNSS only': 'tab:orange',
    'network only (argmax)': 'tab:purple',
    'filter: GNSS + network': 'tab:green',
    'geometric matcher only (argmax)': 'tab:gray',
    'filter: GNSS + geometric matcher': 'tab:blue',
}
MAX_MAP_TILES = 400


def map_background(tiles: str, zoom: int, frame: LocalFrame, xy: np.ndarray) -> GeoImage | None:
    """A mosaic of source tiles covering the ENU points ``xy`` (None if unavailable)."""
    if not tiles:
        return None
    from cvseq_localizer.tiles import TileError, open_tile_source

    lo, hi = xy.min(axis=0) - 20.0, xy.max(axis=0) + 20.0
    lat, lon, _ = frame.to_geodetic(np.array([lo[0], hi[0]]), np.array([hi[1], lo[1]]))
    wx, wy = latlon_to_world_px(lat, lon, zoom)
    tx0, ty0 = int(wx[0] // 256), int(wy[0] // 256)
    tx1, ty1 = int(wx[1] // 256), int(wy[1] // 256)
    if (tx1 - tx0 + 1) * (ty1 - ty0 + 1) > MAX_MAP_TILES:
        return None
    source = open_tile_source(tiles)
    try:
        if source.tile_px != 256:
            return None
        rows = []
        for ty in range(ty0, ty1 + 1):
            row = []
            for tx in range(tx0, tx1 + 1):
                try:
                    row.append(source.fetch(zoom, tx, ty))
                except TileError:
                    row.append(np.full((256, 256, 3), 255, np.uint8))
            rows.append(np.concatenate(row, axis=1))
    finally:
        source.close()
    return GeoImage(np.concatenate(rows, axis=0), zoom, (tx0 * 256.0, ty0 * 256.0))


def _extent(geo: GeoImage, frame: LocalFrame) -> list[float]:
    e, n = geo.pixel_to_enu(np.array([0.0, geo.width]), np.array([geo.height, 0.0]), frame)
    return [float(e[0]), float(e[1]), float(n[0]), float(n[1])]


def plot_trajectories(path: Path, trajectories: dict, frame: LocalFrame, pipeline) -> None:
    fig, ax = plt.subplots(figsize=(8, 8))
    gt = trajectories['ground truth']
    try:
        geo = map_background(pipeline.tiles, pipeline.tile_zoom, frame, gt)
    except Exception as exc:  # a plot without a map beats no plot
        log.warning('no map background: %s', exc)
        geo = None
    if geo is not None:
        ax.imshow(geo.image, extent=_extent(geo, frame), interpolation='bilinear')
    for name, xy in trajectories.items():
        style = dict(lw=2.0) if name == 'ground truth' else dict(lw=0.8, alpha=0.9)
        if name == 'raw GNSS':
            ax.plot(xy[:, 0], xy[:, 1], '.', ms=2, color=COLORS[name], label=name)
        else:
            ax.plot(xy[:, 0], xy[:, 1], color=COLORS.get(name, None), label=name, **style)
    ax.set_xlabel('east (m)')
    ax.set_ylabel('north (m)')
    ax.set_aspect('equal')
    ax.legend(loc='best', fontsize=8)
    ax.set_title('trajectories over the satellite map')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_errors(path_time: Path, path_cdf: Path, results: dict) -> None:
    fig, ax = plt.subplots(figsize=(10, 4))
    fig2, ax2 = plt.subplots(figsize=(6, 4))
    for name, r in results.items():
        err = r.get('errors')
        if err is None or len(err) == 0:
            continue
        t = (r['stamps'] - r['stamps'][0]) * 1e-9
        ax.plot(t, err, lw=0.8, color=COLORS.get(name), label=name)
        srt = np.sort(err)
        ax2.plot(srt, np.arange(1, len(srt) + 1) / len(srt), color=COLORS.get(name), label=name)
    ax.set_xlabel('time (s)')
    ax.set_ylabel('position error (m)')
    ax.legend(fontsize=8)
    ax2.set_xlabel('position error (m)')
    ax2.set_ylabel('fraction of frames')
    ax2.set_xlim(left=0)
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8)
    for f, p in ((fig, path_time), (fig2, path_cdf)):
        f.tight_layout()
        f.savefig(p, dpi=110)
        plt.close(f)


def plot_consistency(path: Path, results: dict) -> bool:
    """NEES over time (log scale, with the chi-square(2) 95 % band) and the CDF of the
    Mahalanobis radius against the ideal one, for every row with a covariance."""
    rows = {n: r for n, r in results.items() if len(r.get('nees', ())) > 0}
    if not rows:
        return False
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4))
    for name, r in rows.items():
        t = (r['stamps'] - r['stamps'][0]) * 1e-9
        ax.semilogy(t, np.maximum(r['nees'], 1e-3), lw=0.7, color=COLORS.get(name), label=name)
        radius = np.sort(np.sqrt(r['nees'][np.isfinite(r['nees'])]))
        ax2.plot(radius, np.arange(1, len(radius) + 1) / max(len(radius), 1),
                 color=COLORS.get(name), label=name)  # fmt: skip
    ax.axhspan(0.0506, 7.38, color='0.9', label='chi2(2) 95 % band')
    ax.axhline(2.0, color='k', lw=0.8, ls='--', label='expected 2')
    ax.set_xlabel('time (s)')
    ax.set_ylabel('NEES')
    ax.legend(fontsize=7)
    k = np.linspace(0, 4, 200)
    ax2.plot(k, 1 - np.exp(-(k**2) / 2), 'k--', lw=0.8, label='consistent (Rayleigh)')
    ax2.axvline(1, color='0.6', lw=0.6)
    ax2.axvline(2, color='0.6', lw=0.6)
    ax2.set_xlim(0, 4)
    ax2.set_xlabel('error in sigmas (Mahalanobis radius)')
    ax2.set_ylabel('fraction of frames')
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def plot_all(out_dir: Path, results: dict, trajectories: dict, frame, pipeline) -> list[str]:
    """Write the plots into ``out_dir``; returns their file names."""
    names = ['trajectories.png', 'error_over_time.png', 'error_cdf.png']
    plot_trajectories(out_dir / names[0], trajectories, frame, pipeline)
    plot_errors(out_dir / names[1], out_dir / names[2], results)
    if plot_consistency(out_dir / 'consistency.png', results):
        names.append('consistency.png')
    return names
