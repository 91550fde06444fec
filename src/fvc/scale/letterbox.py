"""Letterbox scaling: longest side to ``size``, aspect kept, centred on black.

Frames are resized by swscale straight from the decoded YUV frame to RGB at
the target size (one pass, no full-resolution RGB copy), which keeps the
cost close to a plain decode. Display rotation is applied after resizing
(cheap on the small frame), so portrait phone videos come out upright.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from ..augment.render import configure_decoder, stream_fps
from ..errors import InputError, VideoError
from ..video.encode import EncodeSettings
from ..video.io import _ffmpeg_msg, open_video


@dataclass(frozen=True)
class Geometry:
    """Where a ``width`` x ``height`` picture lands on the ``size`` x ``size`` canvas."""

    width: int  # source, as displayed (after rotation)
    height: int
    size: int
    new_width: int
    new_height: int
    left: int
    top: int

    @property
    def is_upscaled(self) -> bool:
        return max(self.width, self.height) < self.size

    @property
    def is_downscaled(self) -> bool:
        return max(self.width, self.height) > self.size


def check_size(size: int) -> int:
    if size < 16 or size % 2:
        raise InputError("--size", f"must be an even number >= 16 (H.264 4:2:0 needs even sizes), got {size}")
    return int(size)


def geometry(width: int, height: int, size: int) -> Geometry:
    if width < 1 or height < 1:
        raise ValueError(f"bad frame size {width}x{height}")
    scale = size / max(width, height)
    nw = min(size, max(1, int(round(width * scale))))
    nh = min(size, max(1, int(round(height * scale))))
    return Geometry(width, height, size, nw, nh, (size - nw) // 2, (size - nh) // 2)


def rotation_steps(frame: av.VideoFrame) -> int:
    """Quarter turns counter-clockwise that make the frame upright."""
    return (int(round(getattr(frame, "rotation", 0) or 0)) % 360) // 90


def letterbox_frame(frame: av.VideoFrame, size: int) -> tuple[np.ndarray, Geometry]:
    """One decoded frame -> upright ``size`` x ``size`` RGB array and its geometry."""
    k = rotation_steps(frame)
    w, h = (frame.height, frame.width) if k % 2 else (frame.width, frame.height)
    g = geometry(w, h, size)
    # resize in stored orientation, then turn: a quarter turn swaps the target sides
    tw, th = (g.new_height, g.new_width) if k % 2 else (g.new_width, g.new_height)
    interp = "AREA" if g.is_downscaled else "BICUBIC"
    small = frame.reformat(width=tw, height=th, format="rgb24", interpolation=interp).to_ndarray()
    if k:
        small = np.rot90(small, k)
    canvas = cv2.copyMakeBorder(
        np.ascontiguousarray(small), g.top, size - g.new_height - g.top, g.left, size - g.new_width - g.left,
        cv2.BORDER_CONSTANT, value=(0, 0, 0),
    )
    return canvas, g


def letterboxed_frames(src: Path, size: int) -> Iterator[tuple[np.ndarray, Geometry, object]]:
    """Stream ``(canvas, geometry, fps)`` for every frame of ``src``."""
    with open_video(src) as container:
        stream = container.streams.video[0]
        configure_decoder(stream)
        fps = stream_fps(stream)
        n = 0
        try:
            for frame in container.decode(stream):
                canvas, g = letterbox_frame(frame, size)
                n += 1
                yield canvas, g, fps
        except av.FFmpegError as exc:
            raise VideoError(src, f"decode failed at frame {n} ({_ffmpeg_msg(exc)})") from exc
        if n == 0:
            raise VideoError(src, "no decodable frames")


def letterbox_video(src: Path, dst: Path, size: int, enc: EncodeSettings, transform=None, batch: int = 1) -> dict:
    """Write the letterboxed ``src`` to ``dst``; ``transform`` maps a list of canvases
    to a list of canvases (the autoencoder), applied ``batch`` frames at a time."""
    writer = None
    geo = rate = None
    frames = 0
    pending: list[np.ndarray] = []

    def flush() -> None:
        nonlocal frames
        out = transform(pending) if transform is not None else pending
        for img in out:
            writer.write(img)
            frames += 1
        pending.clear()

    try:
        for canvas, g, fps in letterboxed_frames(src, size):
            if writer is None:
                geo, rate = g, fps
                writer = enc.writer(dst, fps, size, size)
            pending.append(canvas)
            if len(pending) >= batch:
                flush()
        if pending:
            flush()
        writer.close()
        writer = None
    finally:
        if writer is not None:
            writer.abort()
    return {"geometry": geo, "frames": frames, "fps": float(rate) if rate is not None else None}
