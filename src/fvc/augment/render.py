"""Render one augmented video: decode, augment and encode as a stream.

Frames are turned upright from the display-rotation metadata first, so an
augmented phone video is stored upright (with no rotation tag) and every op
sees the picture as a viewer does. Audio is not copied: the outputs are
video-only (the original, aug_index 0, keeps its audio). Encoding goes through
the project's deterministic encoder (``fvc.video.encode``): the same seed gives
the same decoded frames in any process, under any load.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from ..errors import VideoError
from ..video.encode import EncodeSettings, defined_frame
from ..video.io import _ffmpeg_msg, open_video
from .params import enabled
from .spatial import SpatialAugmenter
from .temporal import ChunkReverser, hits


def configure_decoder(stream: av.video.stream.VideoStream, max_threads: int = 4) -> None:
    """Threaded decoding with a capped thread count: each frame thread holds frames,
    so memory must not grow with the machine's core count."""
    stream.thread_type = "AUTO"
    stream.codec_context.thread_count = max(1, min(max_threads, os.cpu_count() or 1))


def stream_fps(stream: av.video.stream.VideoStream) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return Fraction(rate) if rate else Fraction(25)


def upright(frame: av.VideoFrame, rgb: np.ndarray) -> np.ndarray:
    """Apply the frame's display rotation (counter-clockwise degrees) to its pixels."""
    k = (int(round(getattr(frame, "rotation", 0) or 0)) % 360) // 90
    return np.ascontiguousarray(np.rot90(rgb, k)) if k else rgb


def even(n: int) -> int:
    """yuv420p needs even sizes: odd sizes lose their last row/column."""
    return max(2, n - n % 2)


def chunk_size(width: int, height: int, chunk_frames: int, chunk_mb: int, bytes_per_pixel: float = 1.5) -> int:
    """Frames held at once: at most ``chunk_frames`` and at most ``chunk_mb`` of pixels
    (held in the encoder's format: 1.5 bytes per pixel for yuv420p)."""
    per_frame = max(1, int(width * height * bytes_per_pixel))
    return max(1, min(chunk_frames, (chunk_mb * 1024 * 1024) // per_frame))


def render_augmented(
    src: Path,
    dst: Path,
    params: dict[str, Any],
    enc: EncodeSettings,
    *,
    chunk_frames: int = 250,
    chunk_mb: int = 16,
) -> dict[str, Any]:
    """Write the augmentation of ``src`` described by ``params`` to ``dst`` (MP4)."""
    drop = (enabled(params, "drop") or {}).get("rate", 0.0)
    dup = (enabled(params, "duplicate") or {}).get("rate", 0.0)
    reverse = bool(enabled(params, "reverse"))
    sink = None
    aug = None
    n_in = n_out = 0
    try:
        with open_video(src) as container:
            stream = container.streams.video[0]
            configure_decoder(stream)
            fps = stream_fps(stream)
            try:
                for i, frame in enumerate(container.decode(stream)):
                    n_in += 1
                    if drop and hits(i, drop):
                        continue  # never converted: dropping saves the work too
                    rgb = upright(frame, frame.to_ndarray(format="rgb24"))
                    if sink is None:
                        h, w = even(rgb.shape[0]), even(rgb.shape[1])
                        aug = SpatialAugmenter(params, w, h)
                        if reverse:
                            bpp = 1.5 if enc.pix_fmt == "yuv420p" else 3.0
                            chunk = chunk_size(w, h, chunk_frames, chunk_mb, bpp)
                            sink = ChunkReverser(lambda p: enc.writer(p, fps, w, h), chunk, dst.parent)
                        else:
                            sink = enc.writer(dst, fps, w, h)
                    out = aug(rgb[: aug.height, : aug.width])
                    del rgb, frame  # only the augmented frame stays alive while it is encoded
                    if reverse:  # held frames: converted once, at half the size
                        out = defined_frame(out, enc.pix_fmt)
                    for _ in range(2 if dup and hits(i, dup) else 1):
                        sink.write(out)
                        n_out += 1
            except av.FFmpegError as exc:
                raise VideoError(src, f"decode failed at frame {n_in} ({_ffmpeg_msg(exc)})") from exc
        if sink is None:
            raise VideoError(src, "no decodable frames")
        if reverse:
            sink.finish(dst)
        else:
            sink.close()
        sink = None
    finally:
        if sink is not None:  # an error midway: release files, the caller drops dst
            if isinstance(sink, ChunkReverser):
                sink.cleanup()
            else:
                sink.abort()
    return {"frames_in": n_in, "frames_out": n_out, "width": aug.width, "height": aug.height, "fps": float(fps)}
