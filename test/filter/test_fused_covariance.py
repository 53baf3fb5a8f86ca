"""With a network, the estimate's covariance is floored and grows while the network's answers
stray from the filter (frame errors are correlated: the particles' spread alone is far too
small)."""

import numpy as np
from filter_synth import NS, make_drive, make_grid

from cvseq_localizer.filter import FilterConfig, ParticleFilter


def _run(peak_offsets, **kw):
    """Drive east with GNSS and one grid frame per fix whose peak is offset per frame."""
    drive = make_drive(20.0, 8.0, 0.0, yaw0_rad=0.0)
    pf = ParticleFilter(FilterConfig(**kw), np.random.default_rng(1))
    rng = np.random.default_rng(2)
    for k, (t, xy) in enumerate(zip(drive.stamps_ns, drive.xy_enu_m)):
        pf.update_gnss(int(t), xy + rng.normal(0, 1.0, 2), np.eye(2))
        if k > 20:
            centre = np.round(xy / 20.0) * 20.0
            pts, p = make_grid(centre, xy + peak_offsets(k), rng, 32, 2.28, 0.5)
            pf.update_grid(int(t) + NS // 20, pts, p, 2.28)
    return pf.estimate()


def test_covariance_is_floored_while_the_network_is_used():
    est = _run(lambda k: np.zeros(2))
    assert not est.gnss_only
    assert np.min(np.linalg.eigvalsh(est.cov_xy_m2)) >= 1.5**2 - 1e-9
    bare = _run(lambda k: np.zeros(2), grid_cov_floor_m=0.0, grid_innovation_cov_weight=0.0)
    assert np.trace(bare.cov_xy_m2) < 0.2 * np.trace(est.cov_xy_m2)


def test_covariance_grows_when_the_network_strays():
    steady = _run(lambda k: np.zeros(2))
    stray = _run(lambda k: np.array([0.0, 12.0 if k % 3 == 0 else 0.0]))  # a parallel street
    assert stray.cov_xy_m2[1, 1] > 2.0 * steady.cov_xy_m2[1, 1]
    assert stray.cov_xy_m2[0, 0] < 2.0 * steady.cov_xy_m2[0, 0]  # along the road: unchanged
