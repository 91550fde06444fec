"""What a demux pass (packets only, no decoding) tells about a video stream.

The index probe and the feature reader both walk the packets once; this is
the one place that turns that walk into frame count, keyframe positions,
bitrate and B-frame use, so both report the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np

from ..errors import VideoError


@dataclass
class PacketTally:
    """Per-packet facts of one video stream, in decode order (empty packets skipped)."""

    pts: list[int | None] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    keys: list[int] = field(default_factory=list)  # decode positions of keyframe packets

    def add(self, packet: av.Packet) -> None:
        if packet.is_keyframe:
            self.keys.append(len(self.sizes))
        self.pts.append(packet.pts)
        self.sizes.append(packet.size)

    @property
    def count(self) -> int:
        return len(self.sizes)

    @property
    def reordered(self) -> bool:
        """Presentation order differs from decode order (B-frames)."""
        p = [x for x in self.pts if x is not None]
        return any(b < a for a, b in zip(p, p[1:]))

    def display_order(self) -> np.ndarray | None:
        """Decode position of each frame in presentation order, or None when a packet has no pts."""
        if not self.pts or any(p is None for p in self.pts):
            return None
        return np.argsort(np.asarray(self.pts, dtype=np.int64), kind="stable")


def tally_packets(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
                  path: Any) -> PacketTally:
    """Demux every packet of ``stream`` (never decoding); raises VideoError on a corrupt stream."""
    tally = PacketTally()
    try:
        for packet in container.demux(stream):
            if packet.size:
                tally.add(packet)
    except av.FFmpegError as exc:
        raise VideoError(path, f"truncated or corrupt stream after {tally.count} packets ({exc})") from exc
    if tally.count == 0:
        raise VideoError(path, "video stream has no frames")
    return tally


def stream_facts(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
                 tally: PacketTally) -> dict[str, Any]:
    """The index's probe columns that the header and a packet tally give (no decode, no hashing)."""
    cc = stream.codec_context
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else float("nan")
    audio = container.streams.audio
    out: dict[str, Any] = {
        "container": container.format.name, "codec": cc.name, "profile": cc.profile or None, "pix_fmt": cc.pix_fmt,
        "width": int(cc.width or 0), "height": int(cc.height or 0), "fps": fps, "has_audio": bool(audio),
        "audio_codec": audio[0].codec_context.name if audio else None,
        "bit_rate": int(container.bit_rate or 0) or None, "frame_count": tally.count,
    }
    tb = stream.time_base
    pts = [p for p in tally.pts if p is not None]
    duration = None
    if stream.duration and tb:
        duration = float(stream.duration * tb)
    elif container.duration:
        duration = container.duration / 1_000_000
    elif pts and tb and fps > 0:
        duration = float((max(pts) - min(pts)) * tb) + 1.0 / fps
    if not duration and fps > 0:
        duration = tally.count / fps
    out["duration"] = duration
    out["video_bit_rate"] = int(sum(tally.sizes) * 8 / duration) if duration else None
    out["keyframe_count"] = len(tally.keys)
    out["keyframe_interval"] = float(np.mean(np.diff(tally.keys))) if len(tally.keys) > 1 else float(tally.count)
    out["has_b_frames"] = bool(getattr(cc, "has_b_frames", False)) or tally.reordered
    return out
