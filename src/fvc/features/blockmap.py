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

from .native import compiled

STATS = ("spread", "outlier_share", "autocorr", "low_tail")
_N_STATS = len(STATS)
OUTLIER_MADS = 3.5


def local_block(shape: tuple[int, ...]) -> int:
    """Block side for the local maps: 32, or 16 on frames under 128 pixels on a side (at least 2x2 blocks)."""
    return 32 if min(shape[:2]) >= 128 else 16


def map_stats(m: np.ndarray) -> np.ndarray:
    """(robust spread, outlier share, Moran's I, low tail) of a 2-D log map; NaN when it has under 2x2 blocks."""
    if m.ndim != 2:
        return np.full(len(STATS), np.nan)
    return map_stats_native(np.ascontiguousarray(m, dtype=np.float64))


@compiled("float64(float64[::1], float64)")
def _quantile(v: np.ndarray, q: float) -> float:
    """Quantile ``q`` of sorted ``v`` with linear interpolation (``np.percentile``'s default)."""
    pos = q * (v.size - 1)
    lo = int(pos)
    hi = min(lo + 1, v.size - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


@compiled("float64[::1](float64[:, ::1])")
def map_stats_native(m: np.ndarray) -> np.ndarray:
    """``map_stats`` of a 2-D map: also called from the families' compiled passes."""
    if m.shape[0] < 2 or m.shape[1] < 2:
        return np.full(_N_STATS, np.nan)
    v = np.sort(m.ravel())
    q2, q25, med, q75 = _quantile(v, 0.02), _quantile(v, 0.25), _quantile(v, 0.5), _quantile(v, 0.75)
    dev = np.abs(m - med)
    mad = 1.4826 * np.median(dev)
    out = np.empty(4)
    out[0] = (q75 - q25) / 1.349  # spread
    out[1] = np.count_nonzero(dev > OUTLIER_MADS * mad + 1e-3) / m.size  # outlier share
    out[3] = np.exp(q2 - med)  # low tail
    z = m - m.mean()
    var = np.sum(z * z) / z.size
    if var < 1e-12:
        out[2] = 0.0
        return out
    pairs = np.sum(z[:, 1:] * z[:, :-1]) + np.sum(z[1:, :] * z[:-1, :])
    n_pairs = z[:, 1:].size + z[1:, :].size
    out[2] = pairs / n_pairs / var  # Moran's I on 4-neighbours
    return out
