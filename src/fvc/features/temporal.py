"""Temporal statistics from pairs of consecutive frames.

At each sampled index the next frame is decoded too, so every pair is one
frame apart: duplicated frames (frame-rate conforming), dropped frames and
jumps (speed ramps, loops, splices in time) show up as pairs whose difference
is zero or far above the video's typical motion. The difference is taken on
a small grey copy so it stays cheap at 1080p.
"""

from __future__ import annotations

import av
import cv2
import numpy as np

from ..video.io import frame_to_gray, luma_plane

NAMES = ("temporal_mad", "temporal_diff_std", "temporal_changed_frac", "temporal_hist_dist")
VIDEO_NAMES = ("temporal_dup_frac", "temporal_diff_cv", "temporal_jump_ratio")
SMALL_SIDE = 128
DUP_MAD = 0.3


def small_from_frame(frame: av.VideoFrame) -> np.ndarray:
    """``small_grey`` of a decoded frame, resized straight from its luma plane (no full-size grey copy)."""
    plane = luma_plane(frame)
    if plane is None:
        return small_grey(frame_to_gray(frame))
    luma, full = plane
    small = small_grey(luma)
    if not full:  # limited range: expand after the resize (linear, so the same up to rounding)
        small = np.clip((small - 16.0) * (255.0 / 219.0), 0.0, 255.0, out=small)
    return small


def small_grey(grey: np.ndarray) -> np.ndarray:
    h, w = grey.shape[:2]
    s = SMALL_SIDE / max(h, w)
    if s >= 1:
        return grey.astype(np.float32)  # a copy: the caller may modify it
    return cv2.resize(grey, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA).astype(
        np.float32
    )


def pair_temporal(prev: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """Statistics of ``cur - prev`` (both from ``small_grey``)."""
    if prev.shape != cur.shape:
        return np.full(len(NAMES), np.nan)
    _, std = cv2.meanStdDev(cv2.subtract(cur, prev))
    ad = cv2.absdiff(cur, prev)
    n = ad.size
    h1 = cv2.calcHist([prev], [0], None, [32], [0, 256]).ravel()
    h2 = cv2.calcHist([cur], [0], None, [32], [0, 256]).ravel()
    h1 /= max(h1.sum(), 1.0)
    h2 /= max(h2.sum(), 1.0)
    return np.array([cv2.norm(ad, cv2.NORM_L1) / n, float(std[0, 0]), np.count_nonzero(ad > 10.0) / n,
                     float(0.5 * np.abs(h1 - h2).sum())])


def video_temporal(mads: np.ndarray) -> dict[str, float]:
    """Duplicate fraction, spread and largest jump of the consecutive-pair differences."""
    if mads.size == 0:
        return {n: float("nan") for n in VIDEO_NAMES}
    med = float(np.median(mads)) + 1e-3
    return {"temporal_dup_frac": float(np.mean(mads < DUP_MAD)), "temporal_diff_cv": float(mads.std() / med),
            "temporal_jump_ratio": float(mads.max() / med)}
