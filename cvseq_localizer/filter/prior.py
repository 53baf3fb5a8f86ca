"""The network's training centre prior, divided out of its cell probabilities.

The network was trained with the true position offset from the tile centre by ``N(0, sigma^2)``
per axis, so its softmax is a posterior that already holds that centre prior. The Localizer
centres the tile on the filter's own estimate, so feeding the posterior unchanged would count
the filter's belief twice (a feedback loop: the estimate drifts, the tile follows, the network
confirms). Dividing the prior out turns the posterior back into a likelihood,
``L(cell) ~ p(cell) / N(d(cell); 0, sigma^2)``; the correction is capped at ``cap_sigmas`` sigmas
so that far cells with a vanishing prior are not blown up.
"""

from __future__ import annotations

import numpy as np


def divide_centre_prior(
    prob: np.ndarray,
    points_enu_m: np.ndarray,
    center_enu_m: np.ndarray,
    sigma_m: float,
    cap_sigmas: float,
) -> np.ndarray:
    """Cell weights with the training centre prior divided out, summing to 1.

    Args:
        prob: ``(M,)`` cell probabilities (the network's softmax, any positive weights).
        points_enu_m: ``(M, 2)`` cell positions (east, north), m.
        center_enu_m: ``(2,)`` tile centre in the same frame, m.
        sigma_m: training offset sigma per axis, m; ``<= 0`` returns ``prob`` unchanged.
        cap_sigmas: distances beyond this many sigmas get the correction of the cap.

    Returns ``prob`` itself when ``sigma_m <= 0`` or the weights cannot be normalised.
    """
    if sigma_m <= 0:
        return prob
    d2 = np.sum((points_enu_m - center_enu_m) ** 2, axis=1)
    d2 = np.minimum(d2, (cap_sigmas * sigma_m) ** 2)
    weighted = prob * np.exp(d2 / (2.0 * sigma_m**2))
    total = weighted.sum()
    return weighted / total if np.isfinite(total) and total > 0 else prob
