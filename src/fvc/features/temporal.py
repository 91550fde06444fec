"""Temporal statistics from pairs of consecutive frames.

At each sampled index the next frame is decoded too, so every pair is one
frame apart: duplicated frames (frame-rate conforming), dropped frames and
jumps (speed ramps, loops, splices in time) show up as pairs whose difference
is zero or far above the video's typical motion. The difference is taken on
a small grey copy (block means, about 128 pixels on the long side) so it
stays cheap at 1080p.
"""

from __future__ import annotations

import av
import numpy as np

from ..video.io import frame_to_gray, luma_plane
from .native import compiled

NAMES = ("temporal_mad", "temporal_diff_std", "temporal_changed_frac", "temporal_hist_dist")
VIDEO_NAMES = ("temporal_dup_frac", "temporal_diff_cv", "temporal_jump_ratio")
SMALL_SIDE = 128
DUP_MAD = 0.3


def small_from_frame(frame: av.VideoFrame) -> np.ndarray:
    """``small_grey`` of a decoded frame, straight from its luma plane (no full-size grey copy)."""
    plane = luma_plane(frame)
    if plane is None:
        return small_grey(frame_to_gray(frame))
    luma, full = plane
    # limited range: expanded after the block means (linear, so the same up to rounding)
    return _block_means(luma, _factor(luma.shape), not full)


def small_grey(grey: np.ndarray) -> np.ndarray:
    """The grey uint8 frame reduced by the whole factor that brings its long side nearest above
    ``SMALL_SIDE`` (never enlarged): the mean of each factor x factor block (whole blocks only) rounded to
    a grey level, as float32."""
    return _block_means(grey, _factor(grey.shape), False)


def _factor(shape: tuple[int, ...]) -> int:
    return max(1, max(shape[:2]) // SMALL_SIDE)


@compiled("float32[:, ::1](uint8[:, :], int64, boolean)")
def _block_means(grey: np.ndarray, f: int, expand: bool) -> np.ndarray:
    """Mean of each ``f`` x ``f`` block of ``grey`` (any row stride) rounded to a grey level, float32; from
    limited range (16-235) to 0-255 when ``expand``."""
    h, w = grey.shape[0] // f, grey.shape[1] // f
    out = np.zeros((h, w), np.float32)
    acc = np.empty(w * f, np.float32)  # the block row's column sums: whole integers, exact
    scale = np.float32(1.0 / (f * f))
    for y in range(h):
        acc[:] = 0.0
        for r in range(f * y, f * y + f):
            src = grey[r]
            for x in range(w * f):
                acc[x] += src[x]
        o = out[y]
        for x in range(w):
            t = np.float32(0.0)
            for k in range(f * x, f * x + f):
                t += acc[k]
            o[x] = np.floor(t * scale + np.float32(0.5))  # a grey level, as an area resize to uint8 rounds
        if expand:
            for x in range(w):
                v = (o[x] - np.float32(16.0)) * np.float32(255.0 / 219.0)
                o[x] = min(np.float32(255.0), max(np.float32(0.0), v))
    return out


def pair_temporal(prev: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """Statistics of ``cur - prev`` (both from ``small_grey``)."""
    return pairs_temporal([(prev, cur)])[0]


def pairs_temporal(pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """NAMES statistics of each ``(prev, cur)`` pair of ``small_grey`` frames, one row per pair (NaN where
    the two differ in size)."""
    out = np.full((len(pairs), len(NAMES)), np.nan)
    for k, (prev, cur) in enumerate(pairs):
        if prev.shape == cur.shape:
            _pair_stats(prev.reshape(-1), cur.reshape(-1), out[k])
    return out


@compiled("void(float32[::1], float32[::1], float64[::1])")
def _pair_stats(prev: np.ndarray, cur: np.ndarray, out: np.ndarray) -> None:
    """NAMES of one pair into ``out``, in one pass: the float32 difference's mean |d|, spread and share over
    10 grey levels, and half the L1 distance between the 32-bin histograms of [0, 256) (bin floor(v / 8))."""
    n = prev.size
    hist = np.zeros((2, 32), np.int64)
    s1 = 0.0
    s2 = 0.0
    sa = 0.0
    changed = 0
    for i in range(n):
        d = np.float64(cur[i] - prev[i])  # float32 difference, as the frames are
        s1 += d
        s2 += d * d
        sa += abs(d)
        changed += abs(d) > 10.0
    for i in range(n):
        hist[0, min(31, max(0, int(prev[i] * np.float32(0.125))))] += 1
        hist[1, min(31, max(0, int(cur[i] * np.float32(0.125))))] += 1
    mean = s1 / n
    out[0] = sa / n
    out[1] = np.sqrt(max(0.0, s2 / n - mean * mean))
    out[2] = changed / n
    out[3] = 0.5 * np.abs(hist[0] - hist[1]).sum() / n


def video_temporal(mads: np.ndarray) -> dict[str, float]:
    """Duplicate fraction, spread and largest jump of the consecutive-pair differences."""
    if mads.size == 0:
        return {n: float("nan") for n in VIDEO_NAMES}
    med = float(np.median(mads)) + 1e-3
    return {"temporal_dup_frac": float(np.mean(mads < DUP_MAD)), "temporal_diff_cv": float(mads.std() / med),
            "temporal_jump_ratio": float(mads.max() / med)}
