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


# uint8 -> float32 by table look-up (one array operation): as is, or expanded from limited range (16-235),
# computed in float32 exactly as the expansion of each pixel would be
_AS_FLOAT = np.arange(256, dtype=np.float32)
_EXPANDED = np.clip((_AS_FLOAT - 16.0) * (255.0 / 219.0), 0.0, 255.0)


def small_from_frame(frame: av.VideoFrame) -> np.ndarray:
    """``small_grey`` of a decoded frame, resized straight from its luma plane (no full-size grey copy)."""
    plane = luma_plane(frame)
    if plane is None:
        return small_grey(frame_to_gray(frame))
    luma, full = plane
    # limited range: expanded after the resize (linear, so the same up to rounding)
    return small_grey(luma, _AS_FLOAT if full else _EXPANDED)


def small_grey(grey: np.ndarray, table: np.ndarray = _AS_FLOAT) -> np.ndarray:
    """The uint8 frame at ``SMALL_SIDE`` pixels on its long side (never enlarged), as float32 through ``table``."""
    h, w = grey.shape[:2]
    s = SMALL_SIDE / max(h, w)
    if s < 1:
        grey = cv2.resize(grey, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    return table[grey]  # a new array: the caller may modify it


def pair_temporal(prev: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """Statistics of ``cur - prev`` (both from ``small_grey``)."""
    return pairs_temporal([(prev, cur)])[0]


def pairs_temporal(pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """NAMES statistics of each ``(prev, cur)`` pair of ``small_grey`` frames, one row per pair (NaN where
    the two differ in size): the pairs of one size as one stack, a few array operations for all of them."""
    out = np.full((len(pairs), len(NAMES)), np.nan)
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for k, (prev, cur) in enumerate(pairs):
        if prev.shape == cur.shape:
            by_shape.setdefault(prev.shape, []).append(k)
    for rows in by_shape.values():
        prev = np.stack([pairs[k][0] for k in rows]).reshape(len(rows), -1)
        cur = np.stack([pairs[k][1] for k in rows]).reshape(len(rows), -1)
        d = (cur - prev).astype(np.float64)  # float32 difference, as the frames are
        ad = np.abs(d)
        n = d.shape[1]
        # 32-bin histograms of [0, 256) (small frames hold 0-255): bin floor(v / 8), every row's bins side by
        # side in one bincount
        offsets = (np.arange(2 * len(rows)) * 32)[:, None]
        bins = np.clip(np.concatenate([prev, cur]) * 0.125, 0, 31).astype(np.intp) + offsets
        hist = np.bincount(bins.ravel(), minlength=2 * len(rows) * 32).reshape(2, len(rows), 32) / n
        out[rows] = np.column_stack([ad.sum(axis=1) / n, d.std(axis=1), np.count_nonzero(ad > 10.0, axis=1) / n,
                                     0.5 * np.abs(hist[0] - hist[1]).sum(axis=1)])
    return out


def video_temporal(mads: np.ndarray) -> dict[str, float]:
    """Duplicate fraction, spread and largest jump of the consecutive-pair differences."""
    if mads.size == 0:
        return {n: float("nan") for n in VIDEO_NAMES}
    med = float(np.median(mads)) + 1e-3
    return {"temporal_dup_frac": float(np.mean(mads < DUP_MAD)), "temporal_diff_cv": float(mads.std() / med),
            "temporal_jump_ratio": float(mads.max() / med)}
