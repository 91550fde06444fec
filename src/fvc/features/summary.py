"""A video's statistics of its per-frame rows: mean, standard deviation, minimum and maximum, NaN ignored.

Four NumPy nan-reductions per table cost more than the numbers they reduce
(a few dozen rows; five tables a video, about 1 ms): one compiled pass over
the rows gives all four.
"""

from __future__ import annotations

import numpy as np

from .native import compiled

AGGREGATES = ("mean", "std", "min", "max")


def row_stats(rows: list[np.ndarray], width: int) -> np.ndarray:
    """(4, ``width``): each column's ``AGGREGATES`` over ``rows`` (NaN for a column without a number)."""
    if not rows:
        return np.full((len(AGGREGATES), width), np.nan)
    return column_stats(np.ascontiguousarray(np.vstack(rows), dtype=np.float64))


@compiled("float64[:, ::1](float64[:, ::1])")
def column_stats(m: np.ndarray) -> np.ndarray:
    """``AGGREGATES`` of each column of ``m`` over its non-NaN values, as NumPy's ``nanmean``, ``nanstd``
    (population), ``nanmin`` and ``nanmax`` give them (up to the order of the sums)."""
    n_rows, n_cols = m.shape
    out = np.full((4, n_cols), np.nan)
    for j in range(n_cols):
        count = 0
        total = 0.0
        lo = np.inf
        hi = -np.inf
        for i in range(n_rows):
            v = m[i, j]
            if not np.isnan(v):
                count += 1
                total += v
                lo = min(lo, v)
                hi = max(hi, v)
        if count == 0:
            continue
        mean = total / count
        sq = 0.0
        for i in range(n_rows):
            v = m[i, j]
            if not np.isnan(v):
                sq += (v - mean) * (v - mean)
        out[0, j] = mean
        out[1, j] = np.sqrt(sq / count)
        out[2, j] = lo
        out[3, j] = hi
    return out
