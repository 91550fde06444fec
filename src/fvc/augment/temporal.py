"""Temporal augmentations that stream: dropping, duplication, and reversal in segments.

Dropping and duplication use an evenly spread pattern (frame ``i`` is hit
when ``floor((i+1)*rate)`` steps), so exactly ``floor(n*rate)`` frames are
hit in any prefix of ``n`` frames: the bound holds without knowing the
length in advance. Reversal holds one chunk at a time: each chunk is encoded
reversed as a closed GOP into a temporary file (with the final settings), and
the chunks are then copied to the output in reverse order, packet by packet,
so the output is encoded once and memory does not grow with video length.
"""

from __future__ import annotations

import contextlib
import math
from array import array
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import numpy as np

from ..errors import VideoError


def hits(i: int, rate: float) -> bool:
    """True when frame ``i`` is one of the evenly spread ``rate`` share of frames."""
    return math.floor((i + 1) * rate) > math.floor(i * rate)


def retime(frames: Iterator[tuple[int, np.ndarray]], drop: float = 0.0, duplicate: float = 0.0) -> Iterator[np.ndarray]:
    """Drop and/or duplicate frames of an (index, frame) stream."""
    for i, frame in frames:
        if drop and hits(i, drop):
            continue
        yield frame
        if duplicate and hits(i, duplicate):
            yield frame


def expected_length(n: int, drop: float = 0.0, duplicate: float = 0.0) -> int:
    """Output frame count of :func:`retime` on ``n`` input frames."""
    return sum(1 + (1 if duplicate and hits(i, duplicate) else 0) for i in range(n) if not (drop and hits(i, drop)))


def remux_chunks_reversed(src: Path, starts: list[int], out: Path, container_format: str | None = "mp4") -> int:
    """Copy the closed-GOP chunks of ``src`` to ``out`` in reverse chunk order, without re-encoding.

    ``starts`` are the first frame indices of the chunks; each must begin with
    an IDR frame so it decodes on its own. Frames keep the source's tick grid:
    chunk k is shifted to where it lands in the output. Returns packets written.
    """
    with av.open(str(src)) as ic:
        ist = ic.streams.video[0]
        # pass 1 (packet headers only): the pts of every frame, in display order
        grid = array("q", sorted(p.pts for p in ic.demux(ist) if p.size and p.pts is not None))
    n = len(grid)
    if not starts or starts[0] != 0 or starts[-1] >= n:
        raise VideoError(src, f"chunk starts {starts[:3]}... do not fit {n} frames")
    bounds = list(zip(starts, starts[1:] + [n]))
    written = 0
    with av.open(str(src)) as ic, av.open(str(out), mode="w", format=container_format,
                                             container_options={"fflags": "+bitexact"}) as oc:
        ist = ic.streams.video[0]
        ost = oc.add_stream_from_template(ist)
        for s, e in reversed(bounds):
            first, end = grid[s], grid[e] if e < n else None
            shift = grid[n - e] - first
            ic.seek(first, stream=ist, backward=True, any_frame=False)
            started = False
            for pkt in ic.demux(ist):
                if not pkt.size or pkt.pts is None:
                    continue
                if not started:
                    if pkt.pts != first or not pkt.is_keyframe:
                        raise VideoError(src, f"chunk at frame {s} does not start with a keyframe")
                    started = True
                elif end is not None and pkt.pts == end and pkt.is_keyframe:
                    break  # the next chunk's IDR
                dts = pkt.dts if pkt.dts is not None else pkt.pts
                pkt.pts += shift
                pkt.dts = dts + shift
                pkt.stream = ost
                oc.mux(pkt)
                written += 1
    if written != n:
        raise VideoError(src, f"reversal copied {written} of {n} frames")
    return written


class ChunkReverser:
    """Collect frames, and emit the whole stream reversed, holding one chunk at a time.

    Each chunk is encoded reversed, starting with a forced IDR frame, by one
    encoder into one temporary file (so chunks are closed GOPs and the encoder
    is set up once); the chunks are then copied to the output in reverse
    order. ``make_writer(path)`` returns a writer with ``.write(frame,
    keyframe=False)`` and ``.close()`` using the final encoder settings.
    """

    def __init__(self, make_writer: Callable[[Path], object], chunk_frames: int, tmp_dir: Path):
        if chunk_frames < 1:
            raise ValueError("chunk_frames must be >= 1")
        self.make_writer = make_writer
        self.chunk_frames = chunk_frames
        self.tmp = Path(tempfile.mkdtemp(prefix="reverse-", dir=tmp_dir))
        self.forward = self.tmp / "chunks.mp4"
        self.writer = None
        self.buffer: list = []
        self.starts: list[int] = []
        self.frames = 0
        self.encoded = 0

    def write(self, frame) -> None:
        self.buffer.append(frame)
        self.frames += 1
        if len(self.buffer) >= self.chunk_frames:
            self._flush()

    def _flush(self) -> None:
        if not self.buffer:
            return
        if self.writer is None:
            self.writer = self.make_writer(self.forward)
        self.starts.append(self.encoded)
        for i, frame in enumerate(reversed(self.buffer)):
            self.writer.write(frame, keyframe=(i == 0))
        self.encoded += len(self.buffer)
        self.buffer = []

    def finish(self, out: Path, container_format: str | None = "mp4") -> int:
        """Write the reversed stream to ``out``; returns the number of frames."""
        try:
            self._flush()
            if self.writer is None:
                raise VideoError(out, "no frames to write")
            self.writer.close()
            self.writer = None
            remux_chunks_reversed(self.forward, self.starts, out, container_format)
            return self.frames
        finally:
            self.cleanup()

    def cleanup(self) -> None:
        self.buffer = []
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.writer.__exit__(RuntimeError, None, None)
            self.writer = None
        with contextlib.suppress(OSError):
            shutil.rmtree(self.tmp)
