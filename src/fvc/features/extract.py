"""Per-video feature extraction: sample frames, compute every family, aggregate.

Frames are decoded in order as grey images (the features are luminance
statistics, and asking FFmpeg for grey skips a colour conversion); only the
sampled frames are converted, and only the previous small frame is kept for
the temporal features, so memory does not grow with video length.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from threadpoolctl import threadpool_limits

from ..config import FeaturesConfig
from ..errors import VideoError
from ..video.io import iter_frames, sample_indices
from . import blocking, codec, dct, noise, sharpness, temporal

# Bump when a feature's definition changes: part of the stage config hash.
FEATURE_VERSION = 3
FRAME_NAMES = noise.NAMES + dct.NAMES + sharpness.NAMES + blocking.NAMES
AGGREGATES = ("mean", "std", "min", "max")
FEATURE_PREFIXES = ("noise_", "dct_", "sharp_", "block_", "temporal_", "codec_")


def frame_features(grey: np.ndarray) -> np.ndarray:
    """All per-frame features of one grey uint8 frame, in ``FRAME_NAMES`` order."""
    g = grey.astype(np.float32)
    return np.concatenate([noise.frame_noise(grey, g), dct.frame_dct(grey), sharpness.frame_sharpness(grey, g),
                           blocking.frame_blocking(grey, g)])


def _aggregate(names: tuple[str, ...], rows: list[np.ndarray]) -> dict[str, float]:
    out: dict[str, float] = {}
    if not rows:
        for n in names:
            for a in AGGREGATES:
                out[f"{n}_{a}"] = float("nan")
        return out
    m = np.vstack(rows)
    with np.errstate(all="ignore"):
        stats = {"mean": np.nanmean(m, 0), "std": np.nanstd(m, 0), "min": np.nanmin(m, 0), "max": np.nanmax(m, 0)}
    for j, n in enumerate(names):
        for a in AGGREGATES:
            out[f"{n}_{a}"] = float(stats[a][j])
    return out


def video_frame_features(path: str | Path, frame_count: int, fcfg: FeaturesConfig) -> dict[str, Any]:
    """Sampled-frame features of one video, aggregated; raises VideoError on decode failure."""
    if not frame_count or frame_count <= 0:
        raise VideoError(path, "frame count unknown or zero; re-run 'fvc index'")
    idx = sample_indices(int(frame_count), fcfg.sample_fraction, fcfg.min_frames, fcfg.max_frames)
    # The filters and the small 8x8 matrix products run on one frame at a time;
    # OpenCV's and BLAS's thread pools only add synchronisation cost there (4-20x
    # on a busy 2-core machine), so both stay single-threaded while features run.
    cv2.setNumThreads(1)
    with threadpool_limits(limits=1, user_api="blas"):
        return _sampled_features(path, idx, int(frame_count))


def _sampled_features(path: str | Path, idx: list[int], n_frames: int) -> dict[str, Any]:
    per_frame: list[np.ndarray] = []
    pairs: list[np.ndarray] = []
    sampled = set(idx)
    # the frame after each sampled one, for consecutive-frame temporal statistics
    wanted = sorted(sampled | {i + 1 for i in idx if i + 1 < n_frames})
    prev_i, prev_small = None, None
    for i, grey in iter_frames(path, wanted, fmt="gray"):
        if i in sampled:
            per_frame.append(frame_features(grey))
        small = temporal.small_grey(grey)
        if prev_i is not None and prev_i == i - 1:
            pairs.append(temporal.pair_temporal(prev_small, small))
        prev_i, prev_small = i, small
    if not per_frame:
        raise VideoError(path, "no frame could be decoded")
    if len(per_frame) < len(idx) // 2:
        raise VideoError(path, f"only {len(per_frame)} of {len(idx)} sampled frames decoded (stream ends early)")
    out = _aggregate(FRAME_NAMES, per_frame)
    out.update(_aggregate(temporal.NAMES, pairs))
    out.update(temporal.video_temporal(np.array([p[0] for p in pairs])))
    out["n_frames_sampled"] = len(per_frame)
    return out


def video_features(path: str | Path, probe: Mapping[str, Any], fcfg: FeaturesConfig) -> dict[str, Any]:
    """Frame features plus codec cues for one video and its probe dict."""
    out = video_frame_features(path, int(probe.get("frame_count") or 0), fcfg)
    out.update(codec.codec_features(probe))
    return out


def feature_names() -> list[str]:
    """Every feature column a stage-2 row has, in order."""
    names = [f"{n}_{a}" for n in FRAME_NAMES for a in AGGREGATES]
    names += [f"{n}_{a}" for n in temporal.NAMES for a in AGGREGATES]
    return names + list(temporal.VIDEO_NAMES) + list(codec.NAMES)


def feature_columns(columns) -> list[str]:
    """The feature columns of a features table (by prefix, plus the scale flags)."""
    return [c for c in columns if c.startswith(FEATURE_PREFIXES) or c in ("is_upscaled", "is_downscaled")]
