"""Temporal augmentations that stream: dropping, duplication, and reversal in segments.

Dropping and duplication use an evenly spread pattern (frame ``i`` is hit
when ``floor((i+1)*rate)`` steps), so exactly ``floor(n*rate)`` frames are
hit in any prefix of ``n`` frames: the bound holds without knowing the
length in advance. Reversal holds one chunk at a time: each chunk is written
reversed to its own temporary segment (encoded with the final settings), and
the segments are then remuxed in reverse order, packet by packet, so the
output is encoded once and memory does not grow with video length.
"""

from __future__ import annotations

import contextlib
import math
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


def remux_concat(segments: list[Path], out: Path, container_format: str | None = None) -> int:
    """Concatenate encoded segments into ``out`` without re-encoding; returns packets written.

    Segments must come from identically configured encoders (same codec
    parameters): timestamps of each are shifted to follow the previous one.
    """
    out_c = av.open(str(out), mode="w", format=container_format)
    ost = None
    extradata = None
    offset = 0
    n = 0
    try:
        for seg in segments:
            with av.open(str(seg)) as ic:
                ist = ic.streams.video[0]
                if ost is None:
                    ost = out_c.add_stream_from_template(ist)
                    extradata = ist.codec_context.extradata
                elif ist.codec_context.extradata != extradata:
                    raise VideoError(seg, "segment encoded with different codec parameters; cannot concatenate")
                start = None
                end = 0
                for pkt in ic.demux(ist):
                    if pkt.size == 0 or pkt.pts is None:
                        continue
                    if start is None:
                        start = pkt.pts  # first packet is the IDR frame: the lowest pts
                    end = max(end, pkt.pts + (pkt.duration or 0))
                    shift = offset - start
                    pkt.pts += shift
                    pkt.dts = (pkt.dts if pkt.dts is not None else pkt.pts - shift) + shift
                    pkt.stream = ost
                    out_c.mux(pkt)
                    n += 1
                if start is not None:
                    offset += end - start
    finally:
        out_c.close()
    return n


class ChunkReverser:
    """Collect frames, and emit the whole stream reversed via temporary segments.

    ``make_writer(path)`` returns a writer (``.write(rgb)``, ``.close()``) with
    the final encoder settings; at most ``chunk_frames`` frames are held.
    """

    def __init__(self, make_writer: Callable[[Path], object], chunk_frames: int, tmp_dir: Path):
        if chunk_frames < 1:
            raise ValueError("chunk_frames must be >= 1")
        self.make_writer = make_writer
        self.chunk_frames = chunk_frames
        self.tmp = Path(tempfile.mkdtemp(prefix="reverse-", dir=tmp_dir))
        self.buffer: list[np.ndarray] = []
        self.segments: list[Path] = []
        self.frames = 0

    def write(self, rgb: np.ndarray) -> None:
        self.buffer.append(rgb)
        self.frames += 1
        if len(self.buffer) >= self.chunk_frames:
            self._flush()

    def _flush(self) -> None:
        if not self.buffer:
            return
        path = self.tmp / f"seg{len(self.segments):06d}.mp4"
        writer = self.make_writer(path)
        for frame in reversed(self.buffer):
            writer.write(frame)
        writer.close()
        self.buffer = []
        self.segments.append(path)

    def finish(self, out: Path, container_format: str | None = "mp4") -> int:
        """Write the reversed stream to ``out``; returns the number of frames."""
        try:
            self._flush()
            if not self.segments:
                raise VideoError(out, "no frames to write")
            remux_concat(list(reversed(self.segments)), out, container_format)
            return self.frames
        finally:
            self.cleanup()

    def cleanup(self) -> None:
        self.buffer = []
        with contextlib.suppress(OSError):
            shutil.rmtree(self.tmp)
