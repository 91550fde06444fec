"""Temporal discontinuity: cuts, dropped or duplicated segments and speed changes in an edited timeline.

Every decoded frame gives a tiny luma thumbnail (a strided uint8 copy of the
decoder's plane, no conversion); consecutive thumbnails give a difference
series. A spike is a difference far above the typical difference on both
sides of it (the lower of the medians just before and just after, so a
change of pace is not a spike); an encoder
puts a keyframe at the scene cuts it sees, so spikes off keyframes are
counted apart. A long run of near-zero differences is a frozen or duplicated
stretch, and a step in the running median is a change of playback speed.
A clip played at a constant other speed has no step; it shows in the
series' texture instead: repeated frames make a share of near-zero
differences and a low 10th percentile, dropped frames make consecutive
differences less alike (low lag-1 autocorrelation) and more often
alternating, blended frames make them more alike.
"""

from __future__ import annotations

import av
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .native import compiled

NAMES = ("tdisc_spike_max", "tdisc_spike_rate", "tdisc_offkey_spike_rate", "tdisc_dup_run", "tdisc_level_step",
         "tdisc_still_share", "tdisc_low_ratio", "tdisc_autocorr", "tdisc_alternation", "tdisc_rel_change")
THUMB_SIDE = 64
WINDOW = 4  # frames each side of a difference for its baseline
STEP_WINDOW = 15  # frames each side of a speed-change step
SPIKE_RATIO = 4.0
SPIKE_FLOOR = 2.0  # grey levels: a spike must also be visible
DUP = 0.3
STILL = 1.0  # grey levels: a repeated frame after re-encoding rarely differs more


def thumbnail(frame: av.VideoFrame) -> np.ndarray:
    """About THUMB_SIDE pixels on the long side, sampled from the luma plane (a uint8 copy of the samples only)."""
    plane = frame.planes[0]
    luma = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    step = max(1, round(max(plane.width, plane.height) / THUMB_SIDE))
    return np.ascontiguousarray(luma[step // 2:: step, step // 2: plane.width: step])


class DiffSeries:
    """Mean absolute thumbnail difference of each pair of consecutive decoded frames, and whether the later is a key.

    Each thumbnail is compared with the previous one as it arrives (an exact integer sum, compiled); only
    the previous thumbnail is kept."""

    def __init__(self) -> None:
        self.frames = 0
        self._diffs: list[float] = []
        self._keys: list[bool] = []
        self._firsts: list[int] = []  # index of each difference's first frame
        self._last: tuple[int, np.ndarray] | None = None

    def add(self, index: int, thumb: np.ndarray, key: bool) -> None:
        self.frames += 1
        last = self._last
        if last is not None and last[0] == index - 1 and last[1].shape == thumb.shape:
            self._diffs.append(_mean_abs_difference(last[1], thumb))
            self._keys.append(key)
            self._firsts.append(last[0])
        self._last = (index, thumb)

    @property
    def diffs(self) -> np.ndarray:
        """Every difference so far, in decode order."""
        return self.between()[0]

    def between(self, lo: int = 0, hi: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The differences between consecutive frames both in ``[lo, hi)``, and whether the later is a key."""
        d, keys, first = np.array(self._diffs), np.array(self._keys, dtype=bool), np.array(self._firsts, dtype=np.int64)
        inside = (first >= lo) & (first + 1 < hi if hi is not None else True)
        return d[inside], keys[inside]

    def features(self, lo: int = 0, hi: int | None = None) -> dict[str, float]:
        """The NAMES statistics of the differences between frames of ``[lo, hi)``."""
        return discontinuity_features(*self.between(lo, hi))


@compiled("float64(uint8[:, ::1], uint8[:, ::1])")
def _mean_abs_difference(a: np.ndarray, b: np.ndarray) -> float:
    total = 0
    for y in range(a.shape[0]):
        for x in range(a.shape[1]):
            total += abs(np.int32(b[y, x]) - np.int32(a[y, x]))
    return total / a.size


def _baseline(d: np.ndarray, w: int) -> np.ndarray:
    """Lower of the medians of the ``w`` differences before and the ``w`` after each one (edges repeated)."""
    med = np.median(sliding_window_view(np.pad(d, w, mode="edge"), w), axis=1)  # med[k]: median of pad[k:k+w]
    t = np.arange(d.size)
    return np.minimum(med[t], med[t + w + 1])


def _longest_run(mask: np.ndarray) -> int:
    if not mask.any():
        return 0
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return int((np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).max())


def discontinuity_features(d: np.ndarray, keys: np.ndarray) -> dict[str, float]:
    """The NAMES statistics of a difference series (``keys``: the later frame of each pair is a keyframe)."""
    if d.size < 2 * WINDOW + 1:
        return {n: float("nan") for n in NAMES}
    ratio = (d + 0.5) / (_baseline(d, WINDOW) + 0.5)
    spikes = (ratio > SPIKE_RATIO) & (d > SPIKE_FLOOR)
    level = np.log(d + 0.5)
    step = 0.0
    if d.size >= 2 * STEP_WINDOW:
        win = sliding_window_view(level, STEP_WINDOW)
        med = np.median(win, axis=1)  # med[t]: median of level[t : t + STEP_WINDOW]
        step = float(np.abs(med[STEP_WINDOW:] - med[: -STEP_WINDOW]).max())
    return {"tdisc_spike_max": float(np.log(ratio.max())), "tdisc_spike_rate": 100.0 * float(spikes.mean()),
            "tdisc_offkey_spike_rate": 100.0 * float((spikes & ~keys).mean()),
            "tdisc_dup_run": _longest_run(d < DUP) / d.size, "tdisc_level_step": step, **pace_features(d)}


def pace_features(d: np.ndarray) -> dict[str, float]:
    """A constant change of pace: still share, low ratio, lag-1 autocorrelation, alternation, relative change."""
    med = float(np.median(d))
    level = np.log(d + 0.5)
    z = level - level.mean()
    var = float((z * z).mean())
    change = np.diff(d)
    turns = np.sign(change[:-1]) * np.sign(change[1:])
    return {"tdisc_still_share": float(np.mean(d < STILL)),
            "tdisc_low_ratio": float((np.percentile(d, 10) + 0.5) / (med + 0.5)),
            "tdisc_autocorr": float((z[1:] * z[:-1]).mean() / var) if var > 1e-12 else 0.0,
            "tdisc_alternation": float(np.mean(turns < 0)),
            "tdisc_rel_change": float(np.median(np.abs(change)) / (med + 0.5))}
