"""Per-video feature extraction: one read, sampled frames, every family, aggregated.

The reader walks the packets once (codec cues, keyframes), then decodes
only what the sampled frames need. Every decoded frame adds a tiny luma
thumbnail to the temporal-discontinuity series; the sampled frames get the
per-frame families on their luma plane at native resolution; the frame
after each sample gives a consecutive pair; up to ``gop.MAX_INTRA``
decoded keyframes add their DCT statistics for the GOP-aware family.
The frames these need are held (the decoder's own frames, no copy) until
``BATCH_PIXELS`` of them are waiting, then analysed together; besides that
batch only the previous thumbnail and small frame are kept, so memory does
not grow with video length.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from av.video.frame import PictureType
from threadpoolctl import ThreadpoolController

from ..config import FeaturesConfig
from ..errors import VideoError
from ..video.io import frame_to_gray, sample_indices
from . import (blocking, codec, dct, discontinuity, gop, local_noise, local_texture, motion, noise, sharpness,
               temporal)
from .maps import FrameMaps
from .reader import ReadPlan, StreamRead, open_read, plan_read
from .summary import AGGREGATES, row_stats

# Per-frame families on the sampled frames: (name, NAMES, function of the frame's shared maps).
FAMILIES: tuple[tuple[str, tuple[str, ...], Callable[[np.ndarray], np.ndarray]], ...] = (
    ("noise", noise.NAMES, noise.frame_noise),
    ("dct", dct.NAMES, dct.frame_dct),
    ("sharpness", sharpness.NAMES, sharpness.frame_sharpness),
    ("blocking", blocking.NAMES, blocking.frame_blocking),
    ("local_noise", local_noise.NAMES, local_noise.frame_local_noise),
    ("local_texture", local_texture.NAMES, local_texture.frame_local_texture),
)
# Wanted frames (sampled, their successors, extra keyframes) are held until this many pixels wait (8 frames
# at 720p, 4 at 1080p: 12 MB of decoded YUV): between two sampled frames the decoder works through many others
# and evicts the caches, so analysing frames one at a time starts every map and every array operation cold;
# a batch reuses warm buffers.
BATCH_PIXELS = 8_000_000
FRAME_NAMES = tuple(n for _, names, _ in FAMILIES for n in names)
_DCT_COLUMNS = slice(len(noise.NAMES), len(noise.NAMES) + len(dct.NAMES))  # frame_dct's part of a frame row


class Timings(dict):
    """CPU seconds spent per family, summed over the frames they ran on; plus what the reader did.

    Families are timed in the CPU time of the thread running them, which other processes on a
    shared machine do not inflate; ``loop_total`` is the process's CPU time over the whole read
    (decoder threads included).
    """

    frames_decoded: int = 0
    modes: tuple[str, ...] = ()

    def __init__(self, enabled: bool = True):
        super().__init__()
        self.enabled = enabled

    def measure(self, name: str) -> _Span | contextlib.nullcontext:
        """A span that times its block, or (not enabled: an untimed read) one that does nothing: each
        clock reading is a system call, and a read takes one or two for every decoded frame."""
        return _Span(self, name) if self.enabled else _UNTIMED


_UNTIMED = contextlib.nullcontext()


class _Span:
    """``with timings.measure(name):`` adds the block's seconds to ``name`` (a plain class: a generator-based
    context manager costs as much as a thumbnail, and one runs on every decoded frame)."""

    __slots__ = ("timings", "name", "t0")

    def __init__(self, timings: Timings, name: str):
        self.timings, self.name = timings, name

    def __enter__(self) -> None:
        self.t0 = time.thread_time()

    def __exit__(self, *exc) -> None:
        self.timings[self.name] = self.timings.get(self.name, 0.0) + time.thread_time() - self.t0


def frame_features(grey: np.ndarray, timings: Timings | None = None) -> np.ndarray:
    """All per-frame features of one grey uint8 frame, in ``FRAME_NAMES`` order."""
    maps = FrameMaps(grey)  # shared by the families: each map is computed once
    if timings is None:
        return np.concatenate([fn(maps) for _, _, fn in FAMILIES])
    parts = []
    for name, _, fn in FAMILIES:
        with timings.measure(name):
            parts.append(fn(maps))
    return np.concatenate(parts)


def _aggregate(names: tuple[str, ...], rows: list[np.ndarray]) -> dict[str, float]:
    """``{name}_{aggregate}`` of each column of ``rows``, name by name."""
    return dict(zip(_aggregate_keys(names), row_stats(rows, len(names)).T.ravel().tolist()))


@functools.cache
def _aggregate_keys(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{n}_{a}" for n in names for a in AGGREGATES)


class _BlasPools:
    """This process's BLAS thread pools, found again only when modules were imported since (finding them
    walks every loaded library: about 3 ms a video with the pipeline's libraries loaded, 7% of decoding a
    demo-corpus video)."""

    modules = -1
    controller: ThreadpoolController | None = None


def one_blas_thread():
    """Context manager: every BLAS library of the process single-threaded inside (the feature reads' small
    products)."""
    if _BlasPools.modules != len(sys.modules):
        _BlasPools.controller, _BlasPools.modules = ThreadpoolController(), len(sys.modules)
    return _BlasPools.controller.limit(limits=1, user_api="blas")


def video_features(path: str | Path, fcfg: FeaturesConfig, timings: Timings | None = None) -> dict[str, Any]:
    """Every feature of one video (frame families, temporal, codec cues); raises VideoError on decode failure."""
    with open_read(path) as read:
        n = read.tally.count
        idx = sample_indices(n, fcfg.sample_fraction, fcfg.min_frames, fcfg.max_frames)
        plan = plan_read(read.tally, set(idx) | {i + 1 for i in idx if i + 1 < n}, fcfg.sampling)
        res = read_frames(read, plan, set(idx), set(plan.keyframes(gop.MAX_INTRA)), timings)
    if not res.rows:
        raise VideoError(path, "no frame could be decoded")
    if len(res.rows) < len(idx) // 2:
        raise VideoError(path, f"only {len(res.rows)} of {len(idx)} sampled frames decoded (stream ends early)")
    out = aggregate(res)
    out.update(codec.codec_features(read.facts))
    return out


@dataclass
class FrameResults:
    """What one read of a video gave, by presentation index: stage 2 aggregates all of it, explain each
    window's share (``aggregate(res, lo, hi)``)."""

    rows: dict[int, np.ndarray] = field(default_factory=dict)  # FRAME_NAMES row of each sampled frame
    intra: dict[int, np.ndarray] = field(default_factory=dict)  # DCT row of each intra-coded analysed frame
    inter: dict[int, np.ndarray] = field(default_factory=dict)  # DCT row of each predicted sampled frame
    pairs: dict[int, np.ndarray] = field(default_factory=dict)  # temporal.NAMES row of the pair (i, i + 1)
    motion: dict[int, np.ndarray] = field(default_factory=dict)  # motion.NAMES row of each sampled frame
    series: discontinuity.DiffSeries = field(default_factory=discontinuity.DiffSeries)  # every decoded frame
    grabbed: dict[int, np.ndarray] = field(default_factory=dict)  # RGB frames the caller asked for
    with_mvs: bool = False  # the codec exports motion vectors


def read_frames(read: StreamRead, plan: ReadPlan, sampled: set[int], keyframes: set[int],
                timings: Timings | None = None, stop: int | None = None, grab: set[int] = frozenset()) -> FrameResults:
    """Decode ``plan`` once and analyse every frame the features need: the frame families (and motion
    vectors) of the ``sampled`` frames, the temporal pair of each two consecutive wanted frames (a sampled
    frame and its successor), the DCT of the ``keyframes`` for the GOP family, a thumbnail of every decoded
    frame for the discontinuity series; frames from ``stop`` on are not read, ``grab`` ones kept as RGB."""
    # The filters and the small matrix products run on one frame at a time; OpenCV's
    # and BLAS's thread pools only add synchronisation cost there (4-20x on a busy
    # 2-core machine), so both stay single-threaded while frames are analysed.
    cv2.setNumThreads(1)
    with one_blas_thread():
        return _read_frames(read, plan, sampled, keyframes, timings, stop, grab)


def _read_frames(read: StreamRead, plan: ReadPlan, sampled: set[int], keyframes: set[int], timings: Timings | None,
                 stop: int | None, grab: set[int]) -> FrameResults:
    facts, n = read.facts, read.tally.count
    partners = {i + 1 for i in sampled if i + 1 < n}
    keyframes = set(keyframes) - sampled
    res = FrameResults(with_mvs=facts["codec"] in motion.CODECS)
    t = timings if timings is not None else Timings(enabled=False)
    prev_i, prev_small = None, None
    held: list[tuple[int, av.VideoFrame]] = []  # wanted frames, in decode order, until their batch is analysed
    held_pixels = 0

    def analyse_held() -> None:
        """The held frames' temporal pairs, then their motion vectors, then their frame families: one kind of
        work at a time over the batch, so its code and tables stay warm from frame to frame."""
        nonlocal prev_i, prev_small
        with t.measure("temporal"):
            batch, firsts = [], []
            for i, frame in held:
                if i in sampled or i in partners:
                    small = temporal.small_from_frame(frame)
                    if prev_i is not None and prev_i == i - 1:
                        batch.append((prev_small, small))
                        firsts.append(prev_i)
                    prev_i, prev_small = i, small
            res.pairs.update(zip(firsts, temporal.pairs_temporal(batch)))
        if res.with_mvs:
            with t.measure("motion"):
                for i, frame in held:
                    mv = motion.frame_vectors(frame) if i in sampled else None
                    if mv is not None:
                        res.motion[i] = motion.frame_motion(mv, frame.width, frame.height)
        for i, frame in held:
            if i in sampled or i in keyframes:
                with t.measure("to_grey"):
                    grey = frame_to_gray(frame)
                if i in sampled:
                    row = res.rows[i] = frame_features(grey, t)
                    is_intra = frame.key_frame or int(frame.pict_type) == int(PictureType.I)
                    (res.intra if is_intra else res.inter)[i] = row[_DCT_COLUMNS]
                else:
                    with t.measure("gop"):
                        res.intra[i] = dct.frame_dct(grey)
        held.clear()

    # the process's CPU clock sums every thread's time: while frame-threaded decoders run, one reading costs
    # milliseconds (170 ms over the 40 demo videos' 80 readings), so only a timed read takes it
    t_loop = time.process_time() if t.enabled else 0.0
    for i, frame in read.frames(plan, motion_vectors=res.with_mvs):
        if stop is not None and i >= stop:
            break
        with t.measure("discontinuity"):
            res.series.add(i, discontinuity.thumbnail(frame), bool(frame.key_frame))
        if i in grab:
            res.grabbed[i] = frame.to_ndarray(format="rgb24")
        if i in sampled or i in partners or i in keyframes:
            held.append((i, frame))  # the decoder's own frame (no copy): it allocates others meanwhile
            held_pixels += frame.width * frame.height
            if held_pixels >= BATCH_PIXELS:
                analyse_held()
                held_pixels = 0
    analyse_held()
    if t.enabled:
        t["loop_total"] = t.get("loop_total", 0.0) + time.process_time() - t_loop
    t.frames_decoded += res.series.frames
    t.modes += (plan.mode,)
    return res


def aggregate(res: FrameResults, lo: int = 0, hi: int | None = None) -> dict[str, Any]:
    """The feature row (all but the codec cues) of frames ``[lo, hi)`` of a read: a pair or a thumbnail
    difference counts where its first frame lies, if its second lies there too."""
    def within(by_index: dict[int, np.ndarray], span: int = 0) -> list[np.ndarray]:
        return [v for i, v in sorted(by_index.items()) if lo <= i and (hi is None or i + span < hi)]

    rows = within(res.rows)
    out = _aggregate(FRAME_NAMES, rows)
    pairs = within(res.pairs, 1)
    out.update(_aggregate(temporal.NAMES, pairs))
    out.update(temporal.video_temporal(np.array([p[0] for p in pairs])))
    out.update(res.series.features(lo, hi))
    mv_rows = within(res.motion)
    out.update(_aggregate(motion.NAMES, mv_rows))
    out["mv_available"] = float(bool(mv_rows))
    out.update(gop.gop_features(within(res.intra), within(res.inter)))
    out["n_frames_sampled"] = len(rows)
    return out


def feature_names() -> list[str]:
    """Every feature column a stage-2 row has, in order."""
    names = [*_aggregate_keys(FRAME_NAMES), *_aggregate_keys(temporal.NAMES)]
    names += list(temporal.VIDEO_NAMES) + list(discontinuity.NAMES)
    names += [*_aggregate_keys(motion.NAMES), *motion.VIDEO_NAMES]
    return names + list(gop.NAMES) + list(codec.NAMES)
