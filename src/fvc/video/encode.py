"""Deterministic video encoding: the same frames give the same bytes in any process, under any load.

Every file the project encodes goes through here: the generated corpus
(``fvc synth``), stage-1 augmentation, stage-3 scaling, and the videos the
tests and benchmarks build as fixtures. Three things make
an encode a pure function of its frames:

- **A fixed thread count.** With ``threads=auto`` x264 sizes its frame and
  lookahead thread pools from the CPUs the process may run on
  (``sched_getaffinity``), and the stream depends on them: two ``fvc augment``
  runs pinned to different CPUs wrote videos with different decoded frames.
  Here the frame-thread count is a constant of the call site (1 by default, 2
  for the stage outputs) and the lookahead runs on one thread: deterministic
  whatever the load or the CPUs.
- **x264 SIMD capped at SSE2** (``asm=SSE2`` on x86-64, the C paths
  elsewhere). x264's wider SIMD paths (AVX-512 here) read bytes they never
  wrote: under glibc's ``MALLOC_PERTURB_`` the same frames gave different
  streams depending on the byte fresh memory was filled with (at 320x240 and
  144x256, among others). Up to SSE2 the output is bit-identical to the C
  paths (``asm=0``), so every machine writes the same bytes, at about 3x
  the speed of ``asm=0`` and within 20% of x264's own choice
  (``benchmarks/bench_encode.py`` measures all three claims).
- **Frames with every byte defined.** A frame built by FFmpeg's converter has
  row padding holding whatever the allocator left there; ours repeat the
  last pixel instead (:func:`defined_frame`).
"""

from __future__ import annotations

import contextlib
import platform
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from ..errors import VideoError
from .memory import tune_frame_memory

# Pixel formats handed to encoders with every byte defined.
DEFINED_FORMATS = ("yuv420p", "rgb24", "bgr0")


def x264_asm() -> str:
    """The x264 SIMD level used everywhere: SSE2 on x86-64 (bit-identical to C), else none."""
    return "SSE2" if platform.machine().lower() in ("x86_64", "amd64") else "0"


def deterministic_options(codec: str, options: dict[str, str] | None = None, gop: int | None = None,
                          threads: int = 1) -> dict[str, str]:
    """Encoder options that make ``codec`` deterministic, merged over ``options``.

    The determinism settings win over the caller's: a preset or rate control
    may be chosen freely, a thread count or SIMD level may not.
    """
    out = dict(options or {})
    if codec.startswith("libx264"):
        extra = out.pop("x264-params", "")
        fixed = f"threads={threads}:lookahead-threads=1:sliced-threads=0:asm={x264_asm()}"
        out.update({"threads": str(threads), "x264-params": f"{extra}:{fixed}" if extra else fixed})
    elif codec == "libx265":
        extra = out.pop("x265-params", "")
        fixed = "pools=none:frame-threads=1" + (f":keyint={gop}" if gop else "")
        out["x265-params"] = f"{extra}:{fixed}" if extra else fixed
    elif codec == "libvpx-vp9":
        out.update({"threads": "1", "row-mt": "0"})
    else:
        out["threads"] = "1"
    return out


def defined_frame(rgb: np.ndarray, pix_fmt: str = "yuv420p") -> av.VideoFrame:
    """An RGB image as a frame in ``pix_fmt`` whose every byte is defined, row padding included.

    yuv420p is BT.601 limited range, as FFmpeg's own conversion, and needs
    even sides; rgb24 is the image itself, bgr0 the image as B, G, R, 0 (what
    lossless FFV1 takes). Each plane's padding repeats the last pixel of its row.
    """
    rgb = np.ascontiguousarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 uint8 RGB image, got {rgb.dtype} {rgb.shape}")
    h, w = rgb.shape[:2]
    if pix_fmt == "yuv420p":
        if h % 2 or w % 2:
            raise ValueError(f"frame size {w}x{h} must be even for yuv420p")
        yuv = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)
        chroma = yuv[h:].reshape(2, h // 2, w // 2)
        planes = (yuv[:h], chroma[0], chroma[1])
    elif pix_fmt == "rgb24":
        planes = (rgb,)
    elif pix_fmt == "bgr0":
        planes = (np.concatenate([rgb[..., ::-1], np.zeros((h, w, 1), np.uint8)], axis=2),)
    else:
        raise ValueError(f"pixel format {pix_fmt!r} is not one the encoders take (use one of {DEFINED_FORMATS})")
    frame = av.VideoFrame(w, h, pix_fmt)
    for plane, arr in zip(frame.planes, planes):
        rows = plane.buffer_size // plane.line_size
        if arr.ndim == 3:  # packed RGB: the padding repeats the last whole pixel
            c = arr.shape[2]
            extra = -(-plane.line_size // c) - arr.shape[1]
            arr = np.pad(arr, ((0, 0), (0, extra), (0, 0)), mode="edge").reshape(h, -1)[:, : plane.line_size]
        plane.update(np.pad(arr, ((0, rows - arr.shape[0]), (0, plane.line_size - arr.shape[1])), mode="edge"))
    return frame


class Encoder:
    """Encode RGB frames to one video stream, deterministically, as they come (constant memory).

    ``write(frame, keyframe=True)`` forces an IDR frame (a closed GOP starts
    there). Frames may also be passed already converted (``to_frame``), e.g.
    when held in memory at half the size. Use as a context manager, or call
    :meth:`close`; :meth:`abort` releases the file after an error.
    """

    def __init__(self, path: str | Path, fps: float | Fraction, width: int, height: int, *, codec: str = "libx264",
                 pix_fmt: str = "yuv420p", options: dict[str, str] | None = None, bit_rate: int | None = None,
                 gop: int | None = None, container_format: str | None = None, threads: int = 1):
        if pix_fmt not in DEFINED_FORMATS:
            raise ValueError(f"pixel format {pix_fmt!r} is not one the encoders take (use one of {DEFINED_FORMATS})")
        tune_frame_memory()  # the frames written are frame-sized buffers too
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.pix_fmt = pix_fmt
        self.fps = Fraction(fps).limit_denominator(1001) if not isinstance(fps, Fraction) else fps
        try:
            # bitexact: no encoder version strings or random ids in the container, so equal frames give equal bytes
            self.container = av.open(str(self.path), mode="w", format=container_format,
                                     container_options={"fflags": "+bitexact"})
            self.stream = self.container.add_stream(codec, rate=self.fps)
        except (av.FFmpegError, ValueError) as exc:
            raise VideoError(self.path, f"cannot create encoder '{codec}' ({exc})") from exc
        self.stream.width, self.stream.height = int(width), int(height)
        self.stream.pix_fmt = pix_fmt  # frames arrive in this format: no conversion inside FFmpeg
        if bit_rate:
            self.stream.bit_rate = int(bit_rate)
        if gop:
            self.stream.codec_context.gop_size = int(gop)
        threads = int(threads) if codec.startswith("libx264") else 1  # only x264's threads are proven here
        self.stream.codec_context.thread_count = threads
        opts = deterministic_options(codec, options, gop, threads)
        if codec.startswith("libx264"):
            opts["forced-idr"] = "1"  # a frame asked to be a keyframe is an IDR frame
        self.stream.options = opts
        self.frames = 0

    def to_frame(self, rgb: np.ndarray) -> av.VideoFrame:
        """RGB -> a frame in the encoder's pixel format (half the bytes for yuv420p)."""
        return defined_frame(rgb, self.pix_fmt)

    def write(self, frame: np.ndarray | av.VideoFrame, keyframe: bool = False) -> None:
        if isinstance(frame, np.ndarray):
            if frame.shape[:2] != (self.stream.height, self.stream.width):
                raise ValueError(f"frame {frame.shape[1]}x{frame.shape[0]} does not match the encoder's "
                                 f"{self.stream.width}x{self.stream.height}")
            frame = self.to_frame(frame)
        frame.pts = self.frames
        frame.time_base = 1 / self.fps
        frame.pict_type = av.video.frame.PictureType.I if keyframe else av.video.frame.PictureType.NONE
        self.container.mux(self.stream.encode(frame))
        self.frames += 1

    def close(self) -> None:
        self.container.mux(self.stream.encode(None))
        self.container.close()

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self.container.close()

    def __enter__(self) -> "Encoder":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


@dataclass(frozen=True)
class EncodeSettings:
    """Codec, pixel format, options and thread count of a stage's outputs (SIMD is fixed by :class:`Encoder`)."""

    codec: str = "libx264"
    pix_fmt: str = "yuv420p"
    options: dict[str, str] = field(default_factory=lambda: {"preset": "veryfast", "crf": "20"})
    # A stage worker encodes one video at a time: two frame threads let x264 encode while the next frames
    # are decoded and augmented (25% less wall time with --workers 1 on two cores; about even with one
    # worker per core), and a fixed count keeps the stream the same everywhere. The synth workers use one.
    threads: int = 2

    def writer(self, path: Path, fps: Fraction, width: int, height: int) -> Encoder:
        return Encoder(path, fps, width, height, codec=self.codec, pix_fmt=self.pix_fmt, options=self.options,
                       threads=self.threads)
