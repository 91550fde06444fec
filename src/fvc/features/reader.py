"""One read per video: a packet pass, then decoding only the GOPs that hold a wanted frame.

The packet pass (demux only, about 1% of a decode) gives the codec cues and
the keyframe positions without a separate probe; the container is then
rewound and decoded, so the file is opened once. The decode pass then feeds
the decoder every GOP up to the last wanted frame ('sequential'), or only
the GOPs that contain one ('seek': samples far apart relative to the
keyframe interval need not decode the stretches between them). 'auto'
picks seek when it skips at least a third of those GOPs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from ..errors import VideoError
from ..video.io import _ffmpeg_msg, open_video
from ..video.packets import PacketTally, stream_facts, tally_packets

MODES = ("auto", "sequential", "seek")
SEEK_MIN_SKIPPED = 1 / 3  # share of GOPs seek must skip for 'auto' to choose it


@dataclass(frozen=True)
class ReadPlan:
    """Which GOPs to decode. ``starts``: decode position of each GOP's first packet."""

    mode: str
    starts: np.ndarray
    needed: np.ndarray  # bool per GOP
    pts_rank: dict[int, int] | None  # pts -> presentation index (None: count frames instead)
    first_shown: np.ndarray  # presentation index of each GOP's first (key) packet
    count: int  # packets (frames) in the stream

    def keyframes(self, limit: int) -> list[int]:
        """Presentation indices of up to ``limit`` decoded GOP-opening frames, evenly spread."""
        shown = self.first_shown[self.needed]
        if shown.size > limit:
            shown = shown[np.linspace(0, shown.size - 1, limit).round().astype(int)]
        return [int(i) for i in shown]

    @property
    def skipped(self) -> int:
        last = int(np.flatnonzero(self.needed)[-1]) if self.needed.any() else -1
        return int((~self.needed[: last + 1]).sum())


class StreamRead:
    """An open video after its packet pass: ``facts`` (the index's probe keys, without rotation and
    sha256), ``tally`` (per-packet facts), and ``frames(plan)`` to decode from the same container."""

    def __init__(self, path: str | Path, container: av.container.InputContainer):
        self.path, self.container = path, container
        self.stream = container.streams.video[0]
        self.tally = tally_packets(container, self.stream, path)
        self.facts = stream_facts(container, self.stream, self.tally)
        self._used = False

    def frames(self, plan: ReadPlan, motion_vectors: bool = False,
               thread_type: str | None = None) -> Iterator[tuple[int, av.VideoFrame]]:
        """``decode_planned`` on this container (once: the decoder is configured on first use)."""
        if self._used:
            raise RuntimeError("a StreamRead decodes once")
        self._used = True
        self.container.seek(0, stream=self.stream, backward=True)  # back to the first packet after the tally
        return _decode(self.path, self.container, self.stream, plan, motion_vectors,
                       thread_type or decoder_threading(motion_vectors))


@contextlib.contextmanager
def open_read(path: str | Path) -> Iterator[StreamRead]:
    """Open ``path`` once: the packet pass now, the decode pass through ``StreamRead.frames``."""
    with open_video(path) as container:
        yield StreamRead(path, container)


def probe_stream(path: str | Path) -> tuple[dict[str, Any], PacketTally]:
    """Codec facts and packet tally of a video, without decoding."""
    with open_read(path) as read:
        return read.facts, read.tally


def plan_read(tally: PacketTally, wanted: Iterable[int], mode: str = "auto") -> ReadPlan:
    """Decide the GOPs to decode for the wanted presentation indices."""
    if mode not in MODES:
        raise ValueError(f"sampling mode must be one of {MODES}, got {mode!r}")
    n = tally.count
    starts = np.unique(np.asarray([0] + tally.keys, dtype=np.int64))
    gop_of = np.searchsorted(starts, np.arange(n), side="right") - 1
    order = tally.display_order()  # decode position of each presentation index
    if order is not None and len(set(tally.pts)) < n:
        order = None  # repeated pts: a frame could not be placed after a skip
    wanted = np.asarray(sorted({int(i) for i in wanted if 0 <= int(i) < n}), dtype=np.int64)
    needed = np.zeros(len(starts), dtype=bool)
    if order is None:  # frames cannot be placed by pts: decode from the start, one GOP past the last wanted
        if wanted.size:
            needed[: gop_of[int(wanted[-1])] + 2] = True
        return ReadPlan("sequential", starts, needed, None, starts.copy(), n)
    shown_at = np.empty(n, dtype=np.int64)
    shown_at[order] = np.arange(n)  # presentation index of each decode position
    if wanted.size:
        g = gop_of[order[wanted]]
        needed[g] = True
        # an open GOP's leading frames are shown before its keyframe and reference the previous GOP
        leading = (wanted < shown_at[starts[g]]) & (g > 0)
        needed[g[leading] - 1] = True
    pts = np.asarray(tally.pts, dtype=np.int64)
    rank = {int(p): int(r) for p, r in zip(pts[order], range(n))}
    dense = needed | _prefix(needed)
    if mode == "sequential" or (mode == "auto" and (~needed[: _last(needed) + 1]).sum() < SEEK_MIN_SKIPPED * dense.sum()):
        return ReadPlan("sequential", starts, dense, rank, shown_at[starts], n)
    return ReadPlan("seek", starts, needed, rank, shown_at[starts], n)


def _last(needed: np.ndarray) -> int:
    return int(np.flatnonzero(needed)[-1]) if needed.any() else -1


def _prefix(needed: np.ndarray) -> np.ndarray:
    """Every GOP up to the last needed one."""
    out = np.zeros_like(needed)
    out[: _last(needed) + 1] = True
    return out


def decoder_threading(motion_vectors: bool) -> str:
    """The decoder's ``thread_type`` for a feature read.

    Frame threads export motion vectors racily (under load 7 of 24 reads of one clip differed in mv_
    features); slice threads are exact. Pixels alone are bit-exact either way, so frame threads stay for them.
    """
    return "SLICE" if motion_vectors else "AUTO"


def decode_planned(path: str | Path, plan: ReadPlan, motion_vectors: bool = False,
                   thread_type: str | None = None) -> Iterator[tuple[int, av.VideoFrame]]:
    """Yield ``(presentation index, frame)`` for every frame of the planned GOPs of ``path``, in order.

    ``thread_type``: the decoder threading (default: what a feature read with ``motion_vectors`` uses).
    """
    with open_video(path) as container:
        yield from _decode(path, container, container.streams.video[0], plan, motion_vectors,
                           thread_type or decoder_threading(motion_vectors))


def _decode(path, container, stream, plan: ReadPlan, motion_vectors: bool,
            thread_type: str) -> Iterator[tuple[int, av.VideoFrame]]:
    """The decode pass. Between two decoded stretches the decoder is drained and reset,
    so no frame of a skipped GOP is ever decoded."""
    last = _last(plan.needed)
    if last < 0:
        return
    end = int(plan.starts[last + 1]) if last + 1 < len(plan.starts) else None
    stream.thread_type = thread_type
    if motion_vectors:
        stream.codec_context.options = {"flags2": "+export_mvs"}
    end = end if end is not None else plan.count
    # needed or not, per decode position: a plain list, so the per-packet test stays cheap in this loop
    wanted_pos = np.repeat(plan.needed, np.diff(np.r_[plan.starts, plan.count]))[:end].tolist()
    count, pos, active = 0, -1, False
    try:
        for packet in container.demux(stream):
            if not packet.size:
                continue
            pos += 1
            if pos >= end:
                break
            if wanted_pos[pos]:
                active = True
                for f in stream.decode(packet):
                    yield _index(plan, f, count, path), f
                    count += 1
            elif active:
                for f in stream.decode(None):
                    yield _index(plan, f, count, path), f
                    count += 1
                stream.codec_context.flush_buffers()
                active = False
        if active:
            for f in stream.decode(None):
                yield _index(plan, f, count, path), f
                count += 1
    except av.FFmpegError as exc:
        raise VideoError(path, f"decode failed ({_ffmpeg_msg(exc)})") from exc


def _index(plan: ReadPlan, frame: av.VideoFrame, count: int, path: str | Path) -> int:
    """Presentation index of a decoded frame: from its pts after a skip, by counting when nothing was skipped."""
    if plan.mode == "sequential" or plan.pts_rank is None:
        return count
    i = plan.pts_rank.get(frame.pts) if frame.pts is not None else None
    if i is None:
        raise VideoError(path, f"decoded frame with pts {frame.pts} matches no packet; use features.sampling: "
                                  "sequential")
    return i
