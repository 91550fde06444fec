"""Full-resolution maps that several per-frame families share, each computed at most once per frame.

The families read the same float frame, median residual, Laplacian and
Sobel gradients; computing each once per frame is most of what keeps the
sampled-frame work small next to decoding.
"""

from __future__ import annotations

from functools import cached_property

import cv2
import numpy as np


class FrameMaps:
    """Lazily computed maps of one grey uint8 frame."""

    def __init__(self, grey: np.ndarray):
        self.grey = grey

    @cached_property
    def g(self) -> np.ndarray:
        return self.grey.astype(np.float32)

    @cached_property
    def pixels(self) -> int:
        return int(self.grey.size)

    @cached_property
    def residual_median(self) -> np.ndarray:
        """Frame minus its 3x3 median: noise and fine texture, zero on flat areas and ramps."""
        return cv2.subtract(self.g, cv2.medianBlur(self.grey, 3), dtype=cv2.CV_32F)

    @cached_property
    def residual_blocks8(self) -> np.ndarray:
        """Mean |median residual| of each 8x8 block (noise and local-noise families)."""
        h, w = (self.grey.shape[0] // 8) * 8, (self.grey.shape[1] // 8) * 8
        return cv2.resize(np.abs(self.residual_median[:h, :w]), (w // 8, h // 8), interpolation=cv2.INTER_AREA)

    @cached_property
    def laplacian(self) -> np.ndarray:
        return cv2.Laplacian(self.g, cv2.CV_32F, ksize=3)  # from float: 7x faster than from uint8 here

    @cached_property
    def gx(self) -> np.ndarray:
        return cv2.Sobel(self.g, cv2.CV_32F, 1, 0, ksize=3)

    @cached_property
    def gy(self) -> np.ndarray:
        return cv2.Sobel(self.g, cv2.CV_32F, 0, 1, ksize=3)

    @cached_property
    def std(self) -> float:
        return float(cv2.meanStdDev(self.grey)[1][0, 0])


def maps_of(frame: np.ndarray | FrameMaps) -> FrameMaps:
    """The maps of a frame given as a grey uint8 array or as maps already."""
    return frame if isinstance(frame, FrameMaps) else FrameMaps(frame)


def mean_square(a: np.ndarray) -> float:
    """Mean of a*a in one BLAS pass, no temporary."""
    v = a.reshape(-1)
    return float(np.dot(v, v)) / max(1, v.size)
