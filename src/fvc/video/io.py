"""Streamed video reading with PyAV.

A video is never held whole in memory: frames are decoded in order and only
the requested ones are converted to arrays. Writing is :mod:`.encode`'s.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import cv2
import numpy as np

from ..config import MAX_FRAME_PIXELS, MAX_FRAME_SIDE
from ..errors import VideoError
from .memory import tune_frame_memory


@dataclass(frozen=True)
class FrameLimits:
    """The largest frames any stage decodes, checked from the stream header (``video`` in fvc.yaml)."""

    max_side: int = MAX_FRAME_SIDE  # longer side, pixels
    max_pixels: int = MAX_FRAME_PIXELS  # width x height

    def check(self, path: str | Path, width: int, height: int) -> None:
        """Raise a one-line VideoError when a ``width`` x ``height`` frame is over the limits."""
        if max(width, height) > self.max_side or width * height > self.max_pixels:
            raise VideoError(
                path,
                f"frame size {width}x{height} is over the limit (longer side {self.max_side}, "
                f"{self.max_pixels} pixels; raise video.max_side / video.max_pixels in fvc.yaml to allow it)",
            )


_limits = FrameLimits()


def set_frame_limits(max_side: int, max_pixels: int) -> FrameLimits:
    """Set this process's limits (from the workspace's config); returns the previous ones."""
    global _limits
    previous, _limits = _limits, FrameLimits(int(max_side), int(max_pixels))
    return previous


def frame_limits() -> FrameLimits:
    return _limits


@contextlib.contextmanager
def open_video(path: str | Path, limits: FrameLimits | None = None,
               fileobj: BinaryIO | None = None) -> Iterator[av.container.InputContainer]:
    """Open a container that has a video stream, or raise a one-line VideoError.

    Frames larger than ``limits`` (default: this process's, see ``set_frame_limits``)
    are refused from the stream header, before anything is decoded. ``fileobj``:
    read through this open file of ``path`` instead (the index hashes as it reads).
    """
    tune_frame_memory()  # every decoding process keeps its frame buffers, on huge pages
    path = Path(path)
    if not path.exists():
        raise VideoError(path, "file not found")
    if path.stat().st_size == 0:
        raise VideoError(path, "file is empty (0 bytes)")
    try:
        container = av.open(fileobj if fileobj is not None else str(path), mode="r")
    except av.FFmpegError as exc:
        raise VideoError(path, f"not a readable video ({_ffmpeg_msg(exc)})") from exc
    try:
        if not container.streams.video:
            raise VideoError(path, "no video stream")
        cc = container.streams.video[0].codec_context
        (limits or _limits).check(path, int(cc.width or 0), int(cc.height or 0))
        yield container
    finally:
        container.close()


def _ffmpeg_msg(exc: Exception) -> str:
    msg = getattr(exc, "strerror", None) or str(exc)
    return msg.split(": '")[0]


def sample_indices(n_frames: int, fraction: float = 0.1, min_frames: int = 5, max_frames: int = 50) -> list[int]:
    """Evenly spaced frame indices: ``fraction`` of the frames, clamped to [min, max]."""
    if n_frames <= 0:
        return []
    k = int(round(n_frames * fraction))
    k = max(min_frames, min(max_frames, k))
    k = min(k, n_frames)
    if k == 1:
        return [0]
    return sorted({int(round(i * (n_frames - 1) / (k - 1))) for i in range(k)})


# Planar formats whose first plane is the luma: "gray" is read from it directly
# instead of a swscale conversion, which dominates the cost of feature extraction.
_LUMA_FIRST = {"yuv420p", "yuv422p", "yuv444p", "yuvj420p", "yuvj422p", "yuvj444p", "nv12", "nv21", "gray"}
_FULL_RANGE = {"yuvj420p", "yuvj422p", "yuvj444p", "gray"}
# Limited-range (16-235) luma expanded to 0-255, as swscale does for gray output.
_EXPAND_LUT = np.clip(np.round((np.arange(256) - 16) * 255.0 / 219.0), 0, 255).astype(np.uint8)


def luma_plane(frame: av.VideoFrame) -> tuple[np.ndarray, bool] | None:
    """The frame's luma plane as a read-only view (no copy) and whether it is full range; None for RGB-like formats."""
    name = frame.format.name
    if name not in _LUMA_FIRST:
        return None
    plane = frame.planes[0]
    luma = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]
    return luma, name in _FULL_RANGE or getattr(frame, "color_range", 0) == 2  # AVCOL_RANGE_JPEG


def expand_range(luma: np.ndarray) -> np.ndarray:
    """Limited-range (16-235) luma to 0-255, as swscale's gray output (a table look-up, vectorised by OpenCV)."""
    return cv2.LUT(luma, _EXPAND_LUT)


def frame_to_gray(frame: av.VideoFrame) -> np.ndarray:
    """Grey image of a frame; the luma plane itself when the format allows."""
    plane = luma_plane(frame)
    if plane is None:
        return frame.to_ndarray(format="gray")
    luma, full = plane
    return luma.copy() if full else expand_range(luma)


def iter_frames(
    path: str | Path,
    indices: Iterable[int] | None = None,
    fmt: str = "rgb24",
    thread_type: str = "AUTO",
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(index, HxWxC uint8 array)`` for the wanted frames, in order.

    Decoding stops after the last wanted index; frames in between are decoded
    (the codec needs them) but never converted.
    """
    wanted = None if indices is None else sorted(set(int(i) for i in indices))
    if wanted is not None and not wanted:
        return
    last = None if wanted is None else wanted[-1]
    wanted_set = None if wanted is None else set(wanted)
    with open_video(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = thread_type
        try:
            for i, frame in enumerate(container.decode(stream)):
                if wanted_set is None or i in wanted_set:
                    yield i, frame_to_gray(frame) if fmt == "gray" else frame.to_ndarray(format=fmt)
                if last is not None and i >= last:
                    break
        except av.FFmpegError as exc:
            raise VideoError(path, f"decode failed ({_ffmpeg_msg(exc)})") from exc


def video_fps(path: str | Path) -> Fraction:
    with open_video(path) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.base_rate or stream.guessed_rate
        return Fraction(rate) if rate else Fraction(25)

