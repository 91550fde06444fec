"""Near-duplicates: what re-uploads do to a video (re-encode, rescale, crop, bars, logo, trim).

Transforms are drawn independently of the label, so a near-duplicate keeps
whatever traces its original had and adds only platform processing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from .seeding import rng_for

NEARDUP_TRANSFORMS = ("reencode", "rescale", "transcode", "crop", "letterbox", "watermark", "trim")
PLATFORM_MARKS = ("@newsdaily", "ViralHub", "TV24", "@clips", "NOW", "WorldCam")


@dataclass(frozen=True)
class NearDupSpec:
    """One re-upload: the transform, the output size, and which source frames it keeps."""

    transform: str
    seed: int
    width: int
    height: int
    first: int  # first source frame kept
    count: int  # frames kept

    def apply(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Transform the parent's decoded frames, streamed."""
        for i, frame in enumerate(frames):
            if i < self.first:
                continue
            if i >= self.first + self.count:
                break
            yield self._one(frame)

    def _one(self, frame: np.ndarray) -> np.ndarray:
        rng = rng_for(self.seed, "neardup")
        h, w = frame.shape[:2]
        if self.transform == "crop":
            cw, ch = int(w * rng.uniform(0.7, 0.9)), int(h * rng.uniform(0.7, 0.9))
            x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            frame = frame[y0:y0 + ch, x0:x0 + cw]
        if self.transform == "letterbox":
            return letterbox(frame, self.width, self.height)
        if frame.shape[:2] != (self.height, self.width):
            interp = cv2.INTER_AREA if self.height < frame.shape[0] else cv2.INTER_LINEAR
            frame = cv2.resize(frame, (self.width, self.height), interpolation=interp)
        if self.transform == "watermark":
            frame = watermark(frame, str(rng.choice(PLATFORM_MARKS)), int(rng.integers(0, 4)))
        return frame


def letterbox(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Fit the frame inside a (width, height) canvas with black bars."""
    h, w = frame.shape[:2]
    s = min(width / w, height / h)
    nw, nh = max(2, int(w * s)), max(2, int(h * s))
    small = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_AREA)
    out = np.zeros((height, width, 3), np.uint8)
    y0, x0 = (height - nh) // 2, (width - nw) // 2
    out[y0:y0 + nh, x0:x0 + nw] = small
    return out


def watermark(frame: np.ndarray, text: str, corner: int) -> np.ndarray:
    """A semi-transparent platform logo in a corner."""
    h, w = frame.shape[:2]
    layer = frame.copy()
    scale = max(0.3, h / 360)
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    x = int(w * 0.03) if corner % 2 == 0 else max(0, w - tw - int(w * 0.03))
    y = th + int(h * 0.04) if corner < 2 else h - int(h * 0.04)
    cv2.putText(layer, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), max(1, int(scale * 2)),
                cv2.LINE_AA)
    return cv2.addWeighted(layer, 0.6, frame, 0.4, 0)


def draw_neardup(seed: int, key: str, parent_w: int, parent_h: int, parent_frames: int,
                 sizes: list[tuple[int, int]], weights: list[float]) -> NearDupSpec:
    """Draw one near-duplicate transform of a parent of the given size and length.

    ``sizes``/``weights`` are the (width, height) a platform may re-encode to
    and how common each is; re-uploads are mostly smaller than their parent.
    """
    rng = rng_for(seed, "neardup", key)
    transform = str(rng.choice(NEARDUP_TRANSFORMS, p=[0.2, 0.2, 0.15, 0.1, 0.1, 0.15, 0.1]))
    w, h, first, count = parent_w, parent_h, 0, parent_frames
    short = min(parent_w, parent_h)
    smaller = [(s, p) for s, p in zip(sizes, weights) if min(s) <= short and s != (parent_w, parent_h)]
    if smaller and (transform == "rescale" or (transform not in ("crop", "letterbox") and rng.random() < 0.35)):
        p = np.array([q for _, q in smaller], float)
        w, h = smaller[int(rng.choice(len(smaller), p=p / p.sum()))][0]
    elif transform == "crop":
        w, h = _even(parent_w * 0.8), _even(parent_h * 0.8)
    elif transform == "letterbox":
        # Shown in a narrower player at the same height: 16:9 in 4:3 or square (bars top and bottom),
        # 9:16 in 3:4 (bars left and right).
        if parent_w >= parent_h:
            w = _even(parent_h * (4 / 3 if rng.random() < 0.6 else 1.0))
        else:
            h = _even(parent_w * 4 / 3)
    if transform == "trim" and parent_frames >= 6:
        first = int(rng.integers(0, parent_frames // 4 + 1))
        count = max(3, parent_frames - first - int(rng.integers(0, parent_frames // 4 + 1)))
    return NearDupSpec(transform, int(rng.integers(0, 2**62)), int(w), int(h), first, count)


def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)
