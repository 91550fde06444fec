"""Scores per stretch of a video, so a splice or an edited stretch shows where it is.

Feature models: windows of about 2 s, each with the stage-2 features of the
model's card computed on that window only (the card's sampling applied inside
the window). The video is decoded once; every window aggregates the frames it
owns. Deep models: one score per clip, with a denser cover of clips than the
card's so short edits are not averaged away.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from threadpoolctl import threadpool_limits

from ..config import FeaturesConfig
from ..errors import VideoError
from ..features import codec, temporal
from ..features.extract import FRAME_NAMES, _aggregate, frame_features
from ..video.io import iter_frames, sample_indices

WINDOW_S = 2.0


@dataclass(frozen=True)
class Segment:
    """Frames ``[lo, hi)`` of the video and their times in seconds."""

    lo: int
    hi: int
    fps: float

    @property
    def start_s(self) -> float:
        return self.lo / self.fps

    @property
    def end_s(self) -> float:
        return self.hi / self.fps


def windows(n_frames: int, fps: float, window_s: float = WINDOW_S) -> list[Segment]:
    """Consecutive windows of ``window_s``; a short tail joins the last window rather than stand alone."""
    if n_frames <= 0:
        return []
    size = max(1, round(window_s * fps))
    starts = list(range(0, n_frames, size))
    if len(starts) > 1 and n_frames - starts[-1] < size / 2:
        starts.pop()
    ends = starts[1:] + [n_frames]
    return [Segment(lo, hi, fps) for lo, hi in zip(starts, ends, strict=True)]


def window_features(path: str | Path, probe: Mapping[str, Any], fcfg: FeaturesConfig,
                    segments: list[Segment]) -> list[dict[str, Any]]:
    """One stage-2 feature row per segment, from a single decode of ``path``."""
    picks = [[seg.lo + i for i in sample_indices(seg.hi - seg.lo, fcfg.sample_fraction, fcfg.min_frames,
                                                 fcfg.max_frames)] for seg in segments]
    sampled = {i for p in picks for i in p}
    n = segments[-1].hi if segments else 0
    wanted = sampled | {i + 1 for i in sampled if i + 1 < n}
    per_frame: dict[int, np.ndarray] = {}
    pairs: dict[int, np.ndarray] = {}  # keyed by the first frame of the pair
    prev_i, prev_small = None, None
    cv2.setNumThreads(1)  # as in stage 2: per-frame filters gain nothing from thread pools
    with threadpool_limits(limits=1, user_api="blas"):
        for i, grey in iter_frames(path, wanted, fmt="gray"):
            if i in sampled:
                per_frame[i] = frame_features(grey)
            small = temporal.small_grey(grey)
            if prev_i == i - 1:
                pairs[prev_i] = temporal.pair_temporal(prev_small, small)
            prev_i, prev_small = i, small
    if not per_frame:
        raise VideoError(path, "no frame could be decoded")
    cues = codec.codec_features(probe)
    rows = []
    for pick in picks:
        frames = [per_frame[i] for i in pick if i in per_frame]
        diffs = [pairs[i] for i in pick if i in pairs]
        row = _aggregate(FRAME_NAMES, frames)
        row.update(_aggregate(temporal.NAMES, diffs))
        row.update(temporal.video_temporal(np.array([d[0] for d in diffs])))
        row["n_frames_sampled"] = len(frames)
        row.update(cues)
        rows.append(row)
    return rows


def clip_segments(frames: list[list[int]], n_frames: int, fps: float) -> list[Segment]:
    """The stretch each clip covers: from its first frame to the next clip's first frame."""
    starts = [g[0] for g in frames]
    ends = starts[1:] + [n_frames]
    return [Segment(lo, max(hi, lo + 1), fps) for lo, hi in zip(starts, ends, strict=True)]
