"""Frame-difference statistics between consecutive sampled frames.

Splices, frame drops and re-timed or looped footage change how much and how
evenly consecutive frames differ; the difference is taken on a small grey
copy so it stays cheap at 1080p.
"""

from __future__ import annotations

import cv2
import numpy as np

NAMES = ("temporal_mad", "temporal_diff_std", "temporal_changed_frac", "temporal_hist_dist")
SMALL_SIDE = 128


def small_grey(grey: np.ndarray) -> np.ndarray:
    h, w = grey.shape[:2]
    s = SMALL_SIDE / max(h, w)
    if s >= 1:
        return grey.astype(np.float32)
    return cv2.resize(grey, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA).astype(
        np.float32
    )


def pair_temporal(prev: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """Statistics of ``cur - prev`` (both from ``small_grey``)."""
    if prev.shape != cur.shape:
        return np.full(len(NAMES), np.nan)
    d = cur - prev
    ad = np.abs(d)
    h1 = cv2.calcHist([prev], [0], None, [32], [0, 256]).ravel()
    h2 = cv2.calcHist([cur], [0], None, [32], [0, 256]).ravel()
    h1 /= max(h1.sum(), 1.0)
    h2 /= max(h2.sum(), 1.0)
    return np.array([float(ad.mean()), float(d.std()), float(np.mean(ad > 10.0)), float(0.5 * np.abs(h1 - h2).sum())])
