"""Statistics of a per-block map (noise level, sharpness, texture) that a local edit disturbs.

An inpainted, pasted or blurred region is a patch of neighbouring blocks
whose value departs from the rest of the frame: the map's robust spread,
its share of outlying blocks and its spatial autocorrelation (Moran's I on
4-neighbours: patches make neighbours alike) all rise with it; on a log map,
the low tail (2nd percentile over the median, as a ratio) falls when a
patch is smoother than the rest.
"""

from __future__ import annotations

import numpy as np

STATS = ("spread", "outlier_share", "autocorr", "low_tail")
OUTLIER_MADS = 3.5


def local_block(shape: tuple[int, ...]) -> int:
    """Block side for the local maps: 32, or 16 on frames under 128 pixels on a side (at least 2x2 blocks)."""
    return 32 if min(shape[:2]) >= 128 else 16


def map_stats(m: np.ndarray) -> np.ndarray:
    """(robust spread, outlier share, Moran's I, low tail) of a 2-D log map; NaN when it has under 2x2 blocks."""
    if m.ndim != 2 or m.shape[0] < 2 or m.shape[1] < 2:
        return np.full(len(STATS), np.nan)
    m = m.astype(np.float64)
    v = np.sort(m, axis=None)
    q2, q25, med, q75 = _quantiles(v, (0.02, 0.25, 0.5, 0.75))
    dev = np.abs(m - med)
    mad = 1.4826 * float(_quantiles(np.sort(dev, axis=None), (0.5,))[0])
    low = float(np.exp(q2 - med))
    spread = (q75 - q25) / 1.349
    outliers = float(np.count_nonzero(dev > OUTLIER_MADS * mad + 1e-3)) / m.size
    z = m - m.mean()
    var = float(np.dot(z.ravel(), z.ravel())) / z.size
    if var < 1e-12:
        return np.array([spread, outliers, 0.0, low])
    pairs = np.vdot(z[:, 1:], z[:, :-1]) + np.vdot(z[1:, :], z[:-1, :])
    n_pairs = z[:, 1:].size + z[1:, :].size
    return np.array([spread, outliers, float(pairs / n_pairs / var), low])


def _quantiles(v: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """Quantiles of sorted ``v`` with linear interpolation (``np.percentile``'s default), without its overhead."""
    out = []
    for q in qs:
        pos = q * (v.size - 1)
        lo = int(pos)
        hi = min(lo + 1, v.size - 1)
        out.append(float(v[lo] + (v[hi] - v[lo]) * (pos - lo)))
    return out
