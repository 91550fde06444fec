"""Encoding generated frames (and a tone) into the containers FVC videos come in.

Every encoder runs single-threaded so the same frames give the same
bitstream, hence the same decoded frames, on every run. Frames reach the
encoder as yuv420p planes we fill completely, padding included: left to
FFmpeg's converter, the bytes past the picture's right edge are whatever the
allocator left there. x264 additionally runs without SIMD (see
``_video_options``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from ...errors import VideoError
from ...video.io import iter_frames
from .seeding import rng_for

# container -> (video encoder, audio encoder, audio sample rate)
FORMATS: dict[str, tuple[str, str, int]] = {
    "mp4": ("libx264", "aac", 44100),
    "webm": ("libvpx-vp9", "libopus", 48000),
    "mkv": ("libx265", "aac", 44100),
    "avi": ("mpeg4", "libmp3lame", 44100),
}
MIN_HEVC_SIDE = 64
# encoder -> codec name as a probe reports it
CODEC_NAMES = {"libx264": "h264", "libvpx-vp9": "vp9", "libx265": "hevc", "mpeg4": "mpeg4",
               "aac": "aac", "libopus": "opus", "libmp3lame": "mp3"}


@dataclass(frozen=True)
class EncodeSpec:
    """How one file is written: container, size, rate, bitrate, GOP, audio."""

    container: str
    width: int
    height: int
    fps: Fraction
    bit_rate: int
    gop: int
    audio: bool = False
    tone_hz: float = 440.0
    fast: bool = False  # intermediate copies: quickest preset

    @property
    def codec(self) -> str:
        # libx265 corrupts the heap on some frames under 64 px (44x32, 48x64, 38x68 crash the process);
        # corpora that small exist only as test fixtures, where such .mkv files carry H.264 instead.
        if self.container == "mkv" and min(self.width, self.height) < MIN_HEVC_SIDE:
            return "libx264"
        return FORMATS[self.container][0]

    @property
    def codec_name(self) -> str:
        return CODEC_NAMES[self.codec]

    @property
    def audio_codec_name(self) -> str | None:
        return CODEC_NAMES[FORMATS[self.container][1]] if self.audio else None


def bitrate_for(width: int, height: int, fps: float, bits_per_pixel: float) -> int:
    """Target bitrate for a bits-per-pixel budget, with a floor encoders accept."""
    return max(24_000, int(width * height * float(fps) * bits_per_pixel))


def _video_options(spec: EncodeSpec) -> dict[str, str]:
    if spec.codec == "libx264":
        # asm=0: x264's SIMD paths read bytes outside the picture that no caller initialises, so the same
        # frames gave a different stream now and then (seen at widths like 86 or 96 px); the C paths
        # read only the picture. About 4x slower, still a small part of a build.
        return {"preset": "ultrafast" if spec.fast else "veryfast", "threads": "1",
                "x264-params": "asm=0:threads=1:lookahead-threads=1:sliced-threads=0"}
    if spec.codec == "libx265":
        return {"preset": "ultrafast", "x265-params": f"pools=none:frame-threads=1:log-level=error:keyint={spec.gop}"}
    if spec.codec == "libvpx-vp9":
        return {"deadline": "realtime", "cpu-used": "8", "threads": "1", "row-mt": "0", "lag-in-frames": "0"}
    return {"threads": "1"}


def yuv420p_frame(rgb: np.ndarray) -> av.VideoFrame:
    """An RGB image (even width and height) as a yuv420p frame with every byte defined.

    BT.601 limited range, as FFmpeg's own conversion; each plane's row padding
    repeats the last pixel instead of holding leftover memory.
    """
    h, w = rgb.shape[:2]
    if h % 2 or w % 2:
        raise ValueError(f"frame size {w}x{h} must be even for yuv420p")
    yuv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YUV_I420)
    chroma = yuv[h:].reshape(2, h // 2, w // 2)
    frame = av.VideoFrame(w, h, "yuv420p")
    for plane, arr in zip(frame.planes, (yuv[:h], chroma[0], chroma[1])):
        rows = plane.buffer_size // plane.line_size
        plane.update(np.pad(arr, ((0, rows - arr.shape[0]), (0, plane.line_size - arr.shape[1])), mode="edge"))
    return frame


class _Writer:
    def __init__(self, path: Path, spec: EncodeSpec, seed: int):
        self.path, self.spec = path, spec
        # bitexact: no encoder version strings or random segment ids, so equal input gives equal bytes
        self.container = av.open(str(path), mode="w", container_options={"fflags": "+bitexact"})
        vs = self.container.add_stream(spec.codec, rate=spec.fps)
        vs.width, vs.height = spec.width, spec.height
        vs.pix_fmt = "yuv420p"  # frames arrive in this format: no conversion inside FFmpeg
        vs.bit_rate = int(spec.bit_rate)
        vs.codec_context.gop_size = int(spec.gop)
        vs.codec_context.thread_count = 1
        vs.options = _video_options(spec)
        self.video = vs
        self.audio = None
        if spec.audio:
            acodec, rate = FORMATS[spec.container][1], FORMATS[spec.container][2]
            self.audio = self.container.add_stream(acodec, rate=rate)
            self.audio.layout = "mono"
            self.audio.bit_rate = 64_000
            self.audio.codec_context.thread_count = 1
            self.rate = rate
            self.samples_done = 0
            self.rng = rng_for(seed, "audio")
        self.frames = 0

    def write(self, rgb: np.ndarray) -> None:
        frame = yuv420p_frame(rgb)
        frame.pts = self.frames
        frame.time_base = Fraction(1) / self.spec.fps
        self.container.mux(self.video.encode(frame))
        self.frames += 1
        if self.audio is not None:
            self._write_audio(int(round(self.frames * self.rate / float(self.spec.fps))))

    def _write_audio(self, until: int) -> None:
        n = until - self.samples_done
        if n <= 0:
            return
        t = (self.samples_done + np.arange(n)) / self.rate
        wave = 0.2 * np.sin(2 * math.pi * self.spec.tone_hz * t) + 0.01 * self.rng.standard_normal(n)
        frame = av.AudioFrame.from_ndarray(wave.astype(np.float32)[None, :], format="flt", layout="mono")
        frame.sample_rate = self.rate
        frame.pts = self.samples_done
        frame.time_base = Fraction(1, self.rate)
        self.container.mux(self.audio.encode(frame))
        self.samples_done = until

    def close(self) -> None:
        self.container.mux(self.video.encode(None))
        if self.audio is not None:
            self.container.mux(self.audio.encode(None))
        self.container.close()


def encode_frames(path: str | Path, frames: Iterable[np.ndarray], spec: EncodeSpec, seed: int = 0) -> int:
    """Encode RGB frames (streamed) to ``path``; return the number of frames written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        writer = _Writer(path, spec, seed)
    except (av.FFmpegError, ValueError) as exc:
        raise VideoError(path, f"cannot create {spec.codec} encoder in .{spec.container} ({exc})") from exc
    try:
        for rgb in frames:
            if rgb.shape[:2] != (spec.height, spec.width):
                raise ValueError(f"frame {rgb.shape[:2]} does not match encoder {spec.height}x{spec.width}")
            writer.write(rgb)
    except BaseException:
        writer.container.close()
        path.unlink(missing_ok=True)
        raise
    writer.close()
    if writer.frames == 0:
        path.unlink(missing_ok=True)
        raise VideoError(path, "no frames to encode")
    return writer.frames


def decode_frames(path: str | Path) -> Iterator[np.ndarray]:
    """Decoded RGB frames of a file, streamed."""
    for _, rgb in iter_frames(path, None, "rgb24"):
        yield rgb


def probe(path: str | Path) -> dict:
    """Facts a reader of the file would see (for ground truth and tests)."""
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        n = sum(1 for _ in c.demux(vs) if _.size)
        rate = vs.average_rate or vs.guessed_rate
        audio = c.streams.audio[0].codec_context.name if c.streams.audio else None
        return {"codec": vs.codec_context.name, "width": vs.codec_context.width,
                "height": vs.codec_context.height, "fps": float(rate) if rate else None,
                "frames": n, "audio_codec": audio}
