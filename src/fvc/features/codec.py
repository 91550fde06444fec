"""Codec cues from the probe (index row or a fresh probe of a derived video).

Platforms re-encode uploads with characteristic settings, and fakes often
pass through extra editing/encoding steps: bitrate per pixel, GOP length,
B-frames and the codec/profile carry that history without decoding a frame.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

CODECS = ("h264", "hevc", "vp9", "mpeg4", "av1")
PROFILES = ("baseline", "main", "high")
NAMES = (
    ("codec_bpp", "codec_keyframe_interval", "codec_keyframe_interval_s", "codec_has_b_frames", "codec_fps",
     "codec_log_pixels", "codec_aspect", "codec_duration", "codec_has_audio")
    + tuple(f"codec_is_{c}" for c in CODECS) + ("codec_is_other",)
    + tuple(f"codec_profile_{p}" for p in PROFILES)
)


def _num(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f


def codec_features(probe: Mapping[str, Any]) -> dict[str, float]:
    """Numeric codec cues from a probe dict (``fvc.data.index.probe_video`` keys)."""
    w, h, fps = _num(probe.get("width")), _num(probe.get("height")), _num(probe.get("fps"))
    vbr = _num(probe.get("video_bit_rate"))
    if not math.isfinite(vbr) or vbr <= 0:
        vbr = _num(probe.get("bit_rate"))
    pixels = w * h if w > 0 and h > 0 else math.nan
    kfi = _num(probe.get("keyframe_interval"))
    codec = str(probe.get("codec") or "").lower()
    profile = str(probe.get("profile") or "").lower()
    out = {
        "codec_bpp": vbr / (pixels * fps) if pixels > 0 and fps > 0 and vbr > 0 else math.nan,
        "codec_keyframe_interval": kfi,
        "codec_keyframe_interval_s": kfi / fps if fps > 0 else math.nan,
        "codec_has_b_frames": float(bool(probe.get("has_b_frames"))),
        "codec_fps": fps,
        "codec_log_pixels": math.log(pixels) if pixels > 0 else math.nan,
        "codec_aspect": w / h if h > 0 else math.nan,
        "codec_duration": _num(probe.get("duration")),
        "codec_has_audio": float(bool(probe.get("has_audio"))),
    }
    for c in CODECS:
        out[f"codec_is_{c}"] = float(codec == c)
    out["codec_is_other"] = float(codec not in CODECS)
    for p in PROFILES:
        # "constrained baseline" counts as baseline, "high 10"/"high 4:4:4" as high
        out[f"codec_profile_{p}"] = float(p in profile)
    return out
