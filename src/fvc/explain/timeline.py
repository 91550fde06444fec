"""Scores per stretch of a video, so a splice or an edited stretch shows where it is.

Feature models: windows of about 2 s, each with the stage-2 features of the
model's card computed on that window only (the card's sampling applied inside
the window). The video is read once, by stage 2's own pass
(:func:`fvc.features.extract.read_frames`) with the feature reader's plan
(:func:`fvc.features.reader.plan_read`, in the card's sampling mode): the GOPs that hold a sampled frame or its successor
are decoded, the others skipped when the mode allows it. Every window
aggregates the frames it owns, and the families that need consecutive
frames or the codec's own data are computed on the window too: temporal
discontinuities on its consecutive decoded frames (every frame of a decoded
GOP, as in stage 2), motion vectors on its sampled frames, the GOP double
quantisation on its decoded keyframes and intra-coded samples against its predicted frames. The same
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

import numpy as np

from ..config import FeaturesConfig
from ..errors import VideoError
from ..features import codec, discontinuity, gop, motion
from ..features.extract import FrameResults, aggregate, read_frames
from ..features.reader import ReadPlan, open_read, plan_read
from ..video.io import sample_indices

WINDOW_S = 2.0
WHOLE_VIDEO = "whole_video"  # key of a window row: {family prefix: why the window cannot give it}
WINDOW_FAMILIES = {  # families computed per window that a window may be unable to give
    "tdisc_": discontinuity.NAMES,
    "mv_": tuple(f"{n}_{a}" for n in motion.NAMES for a in ("mean", "std", "min", "max")),
    "gop_": gop.NAMES,
}


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
    """One stage-2 feature row per segment, from a single read of ``path``.

    Each row carries ``WHOLE_VIDEO``: the window-computed families it could not give, with the reason.
    """
    return read_windows(path, probe, fcfg, segments)[0]


def read_windows(path: str | Path, probe: Mapping[str, Any], fcfg: FeaturesConfig, segments: list[Segment],
                 grab: Iterable[int] = ()) -> tuple[list[dict[str, Any]], dict[int, np.ndarray]]:
    """``window_features``, and the RGB frames at ``grab`` (presentation indices) from the same decode: stage 2's
    own read (``features.extract.read_frames``), every decoded keyframe for the GOP family, each window then
    aggregating the frames it owns."""
    sampled = _sampled(fcfg, segments)
    grab = {int(i) for i in grab}
    with open_read(path) as read:
        n = min(read.tally.count, segments[-1].hi) if segments else 0
        plan = _plan(read.tally, n, sampled, grab, fcfg.sampling)
        res = read_frames(read, plan, sampled, set(plan.keyframes(len(plan.starts))), stop=n, grab=grab)
    if not res.rows:
        raise VideoError(path, "no frame could be decoded")
    cues = codec.codec_features(probe)
    rows = [_row(res, seg, cues, str(read.facts["codec"])) for seg in segments]
    return rows, res.grabbed


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


def _row(res: FrameResults, seg: Segment, cues: dict[str, Any], codec_name: str) -> dict[str, Any]:
    row = aggregate(res, seg.lo, seg.hi)
    row.update(cues)
    missing: dict[str, str] = {}
    pairs = len(res.series.between(seg.lo, seg.hi)[0])
    if pairs < 2 * discontinuity.WINDOW + 1:
        missing["tdisc_"] = f"{pairs} consecutive frame pairs in the window, {2 * discontinuity.WINDOW + 1} needed"
    if not res.with_mvs:
        missing["mv_"] = f"the codec ({codec_name}) exports no motion vectors"
    elif not row["mv_available"]:
        missing["mv_"] = "no sampled frame in the window carries motion vectors (all intra-coded)"
    if not any(seg.lo <= i < seg.hi for i in res.intra):
        missing["gop_"] = "no I-frame in the window"
    elif not any(seg.lo <= i < seg.hi for i in res.inter):
        missing["gop_"] = "no predicted (P/B) frame sampled in the window"
    row[WHOLE_VIDEO] = missing
    return row


def clip_segments(frames: list[list[int]], n_frames: int, fps: float) -> list[Segment]:
    """The stretch each clip covers: from its first frame to the next clip's first frame."""
    starts = [g[0] for g in frames]
    ends = starts[1:] + [n_frames]
    return [Segment(lo, max(hi, lo + 1), fps) for lo, hi in zip(starts, ends, strict=True)]
