"""Pictures and container facts for an explanation: keyframe strip, heatmap overlays, codec panel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..features import codec, dct
from ..video.io import iter_frames

THUMB_HEIGHT = 96
DQ_PERIODIC = 0.5  # dct_dq_periodicity above this: the DCT histograms repeat, a sign of a second quantisation


def write_png(path: Path, rgb: np.ndarray) -> str:
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"{path}: could not write PNG")
    return path.name


def thumbnail(rgb: np.ndarray, height: int = THUMB_HEIGHT) -> np.ndarray:
    h, w = rgb.shape[:2]
    s = height / h
    return cv2.resize(rgb, (max(1, round(w * s)), height), interpolation=cv2.INTER_AREA)


def keyframes(path: Path, indices: list[int]) -> dict[int, np.ndarray]:
    """RGB frames at ``indices`` (one decode pass)."""
    return dict(iter_frames(path, indices))


def overlay(rgb: np.ndarray, heat: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """A [0, 1] heatmap in the JET colour map blended over an RGB frame of the same size."""
    colour = cv2.applyColorMap(np.uint8(np.clip(heat, 0, 1) * 255), cv2.COLORMAP_JET)
    colour = cv2.cvtColor(colour, cv2.COLOR_BGR2RGB)
    return np.uint8(np.clip((1 - alpha) * rgb.astype(np.float32) + alpha * colour, 0, 255))


def dq_periodicity(frames: list[np.ndarray]) -> float | None:
    """Median double-quantisation periodicity of RGB frames (the stage-2 DCT statistic)."""
    idx = dct.NAMES.index("dct_dq_periodicity")
    vals = [float(dct.frame_dct(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY))[idx]) for f in frames]
    vals = [v for v in vals if np.isfinite(v)]
    return float(np.median(vals)) if vals else None


def codec_panel(probe: dict[str, Any], frames: list[np.ndarray]) -> dict[str, Any]:
    """Container and encoder facts plus signs of re-encoding, each named as a user reads it."""
    cues = codec.codec_features(probe)
    dq = dq_periodicity(frames)
    signs = []
    if dq is not None and dq > DQ_PERIODIC:
        signs.append(f"DCT coefficient histograms are periodic ({dq:.2f}): likely compressed twice")
    bpp = cues.get("codec_bpp")
    if bpp is not None and np.isfinite(bpp) and bpp < 0.05:
        signs.append(f"very low bitrate per pixel ({bpp:.3f}): typical of platform re-encoding")
    return {"container": probe.get("container"), "codec": probe.get("codec"), "profile": probe.get("profile"),
            "pix_fmt": probe.get("pix_fmt"), "width": probe.get("width"), "height": probe.get("height"),
            "fps": probe.get("fps"), "duration_s": probe.get("duration"), "frames": probe.get("frame_count"),
            "bit_rate": probe.get("bit_rate"), "bits_per_pixel": bpp,
            "keyframe_interval_frames": cues.get("codec_keyframe_interval"),
            "keyframe_interval_s": cues.get("codec_keyframe_interval_s"),
            "b_frames": bool(probe.get("has_b_frames")), "has_audio": bool(probe.get("has_audio")),
            "dq_periodicity": dq, "reencoding_signs": signs}
