"""Encoding generated frames (and a tone) into the containers FVC videos come in.

Video goes through the project's deterministic encoder (``fvc.video.encode``:
one thread, x264 SIMD capped at SSE2, frames with every byte defined), so the
same seed gives the same bytes, hence the same decoded frames, on every run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ...errors import VideoError
from ...video.encode import Encoder
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


def _speed_options(spec: EncodeSpec) -> dict[str, str]:
    """Presets for a fast build; threads and SIMD are fixed by the shared encoder."""
    if spec.codec == "libx264":
        return {"preset": "ultrafast" if spec.fast else "veryfast"}
    if spec.codec == "libx265":
        return {"preset": "ultrafast", "x265-params": "log-level=error"}
    if spec.codec == "libvpx-vp9":
        return {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    return {}


class _Writer(Encoder):
    """The shared deterministic encoder plus an optional tone track in the same container."""

    def __init__(self, path: Path, spec: EncodeSpec, seed: int):
        super().__init__(path, spec.fps, spec.width, spec.height, codec=spec.codec, options=_speed_options(spec),
                         bit_rate=spec.bit_rate, gop=spec.gop)
        self.spec = spec
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

    def write(self, rgb: np.ndarray, keyframe: bool = False) -> None:
        super().write(rgb, keyframe)
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
        self.container.mux(self.stream.encode(None))
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
            writer.write(rgb)
    except BaseException:
        writer.abort()
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
