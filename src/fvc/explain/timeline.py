"""Scores per stretch of a video, so a splice or an edited stretch shows where it is.

Feature models: windows of about 2 s, each with the stage-2 features of the
model's card computed on that window only (the card's sampling applied inside
the window). The video is read once, with the feature reader's plan
(:func:`fvc.features.reader.plan_read`, in the card's sampling mode, as
stage 2 reads a video): the GOPs that hold a sampled frame or its successor
are decoded, the others skipped when the mode allows it. Every window
aggregates the frames it owns, and the families that need consecutive
frames or the codec's own data are computed on the window too: temporal
discontinuities on its consecutive decoded frames (every frame of a decoded
GOP, as in stage 2), motion vectors on its sampled frames, the GOP double
quantisation on its decoded I-frames against its predicted frames. The same
pass keeps the frames the caller asks for (the keyframe strip). A family
that a window cannot give (no I-frame in it, too few frames for the
discontinuity baseline, a codec without motion vectors) is listed in the
row's ``WHOLE_VIDEO`` entry, for the caller to fill from the whole video
and say so; the model's imputer never fills it silently. Deep models: one
score per clip, with a denser cover of clips than the card's so short edits
are not averaged away.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..config import FeaturesConfig
from ..errors import VideoError
from av.video.frame import PictureType

from ..features import codec, dct, discontinuity, gop, motion, noise, temporal
from ..features.extract import FRAME_NAMES, _aggregate, frame_features, one_blas_thread
from ..features.reader import ReadPlan, open_read, plan_read
from ..video.io import frame_to_gray, sample_indices

WINDOW_S = 2.0
WHOLE_VIDEO = "whole_video"  # key of a window row: {family prefix: why the window cannot give it}
WINDOW_FAMILIES = {  # families computed per window that a window may be unable to give
    "tdisc_": discontinuity.NAMES,
    "mv_": tuple(f"{n}_{a}" for n in motion.NAMES for a in ("mean", "std", "min", "max")),
    "gop_": gop.NAMES,
}
_DCT = slice(len(noise.NAMES), len(noise.NAMES) + len(dct.NAMES))  # the DCT part of a frame_features row


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


class _Window:
    """What one window collects while the video is decoded."""

    def __init__(self) -> None:
        self.frames: list[np.ndarray] = []
        self.pairs: list[np.ndarray] = []
        self.series = discontinuity.DiffSeries()
        self.mv: list[np.ndarray] = []
        self.intra: list[np.ndarray] = []
        self.inter: list[np.ndarray] = []


def window_features(path: str | Path, probe: Mapping[str, Any], fcfg: FeaturesConfig,
                    segments: list[Segment]) -> list[dict[str, Any]]:
    """One stage-2 feature row per segment, from a single read of ``path``.

    Each row carries ``WHOLE_VIDEO``: the window-computed families it could not give, with the reason.
    """
    return read_windows(path, probe, fcfg, segments)[0]


def read_windows(path: str | Path, probe: Mapping[str, Any], fcfg: FeaturesConfig, segments: list[Segment],
                 grab: Iterable[int] = ()) -> tuple[list[dict[str, Any]], dict[int, np.ndarray]]:
    """``window_features``, and the RGB frames at ``grab`` (presentation indices) from the same decode."""
    sampled = _sampled(fcfg, segments)
    bounds = np.array([seg.lo for seg in segments])
    wins = [_Window() for _ in segments]
    prev_i, prev_small, prev_w = None, None, None
    decoded = False
    cv2.setNumThreads(1)  # as in stage 2: per-frame filters gain nothing from thread pools
    grab = {int(i) for i in grab}
    grabbed: dict[int, np.ndarray] = {}
    with one_blas_thread(), open_read(path) as read:
        n = min(read.tally.count, segments[-1].hi) if segments else 0
        with_mvs = read.facts["codec"] in motion.CODECS
        plan = _plan(read.tally, n, sampled, grab, fcfg.sampling)
        for i, frame in read.frames(plan, motion_vectors=with_mvs):
            if i >= n:
                break
            decoded = True
            if i in grab:
                grabbed[i] = frame.to_ndarray(format="rgb24")
            w = wins[int(np.searchsorted(bounds, i, side="right")) - 1]
            key = bool(frame.key_frame) or int(frame.pict_type) == int(PictureType.I)
            w.series.add(i, discontinuity.thumbnail(frame), bool(frame.key_frame))
            if i in sampled:
                grey = frame_to_gray(frame)
                row = frame_features(grey)
                w.frames.append(row)
                (w.intra if key else w.inter).append(row[_DCT])
                if with_mvs:
                    mv = motion.frame_vectors(frame)
                    if mv is not None:
                        w.mv.append(motion.frame_motion(mv, frame.width, frame.height))
            elif key:  # a keyframe the sampling missed: its DCT for the GOP family, as stage 2 adds them
                w.intra.append(dct.frame_dct(frame_to_gray(frame)))
            if i in sampled or i - 1 in sampled:  # a sampled frame and the next: the pair belongs to the first
                small = temporal.small_from_frame(frame)
                if prev_i == i - 1 and prev_i in sampled:
                    prev_w.pairs.append(temporal.pair_temporal(prev_small, small))
                prev_i, prev_small, prev_w = i, small, w
    if not decoded or not any(w.frames for w in wins):
        raise VideoError(path, "no frame could be decoded")
    cues = codec.codec_features(probe)
    return [_row(w, cues, with_mvs, str(read.facts["codec"])) for w in wins], grabbed


def _sampled(fcfg: FeaturesConfig, segments: list[Segment]) -> set[int]:
    """The card's sampling applied inside each window."""
    return {seg.lo + i for seg in segments
            for i in sample_indices(seg.hi - seg.lo, fcfg.sample_fraction, fcfg.min_frames, fcfg.max_frames)}


def _plan(tally, n: int, sampled: set[int], grab: set[int], mode: str) -> ReadPlan:
    """The GOPs of the sampled frames, their successors (the temporal pairs) and the grabbed frames."""
    return plan_read(tally, {i for i in sampled | {i + 1 for i in sampled} | grab if i < n}, mode)


def window_plan(path: str | Path, fcfg: FeaturesConfig, segments: list[Segment],
                grab: Iterable[int] = ()) -> ReadPlan:
    """The plan ``read_windows`` decodes ``path`` with (what a benchmark times as its decode floor)."""
    with open_read(path) as read:
        n = min(read.tally.count, segments[-1].hi) if segments else 0
        return _plan(read.tally, n, _sampled(fcfg, segments), {int(i) for i in grab}, fcfg.sampling)


def _row(w: _Window, cues: dict[str, Any], with_mvs: bool, codec_name: str) -> dict[str, Any]:
    row = _aggregate(FRAME_NAMES, w.frames)
    row.update(_aggregate(temporal.NAMES, w.pairs))
    row.update(temporal.video_temporal(np.array([d[0] for d in w.pairs])))
    row.update(w.series.features())
    row.update(_aggregate(motion.NAMES, w.mv))
    row["mv_available"] = float(bool(w.mv))
    row.update(gop.gop_features(w.intra, w.inter))
    row["n_frames_sampled"] = len(w.frames)
    row.update(cues)
    missing: dict[str, str] = {}
    if len(w.series.diffs) < 2 * discontinuity.WINDOW + 1:
        missing["tdisc_"] = (f"{len(w.series.diffs)} consecutive frame pairs in the window, "
                             f"{2 * discontinuity.WINDOW + 1} needed")
    if not with_mvs:
        missing["mv_"] = f"the codec ({codec_name}) exports no motion vectors"
    elif not w.mv:
        missing["mv_"] = "no sampled frame in the window carries motion vectors (all intra-coded)"
    if not w.intra:
        missing["gop_"] = "no I-frame in the window"
    elif not w.inter:
        missing["gop_"] = "no predicted (P/B) frame sampled in the window"
    row[WHOLE_VIDEO] = missing
    return row


def clip_segments(frames: list[list[int]], n_frames: int, fps: float) -> list[Segment]:
    """The stretch each clip covers: from its first frame to the next clip's first frame."""
    starts = [g[0] for g in frames]
    ends = starts[1:] + [n_frames]
    return [Segment(lo, max(hi, lo + 1), fps) for lo, hi in zip(starts, ends, strict=True)]
