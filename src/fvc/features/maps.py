"""What several per-frame families share, each computed at most once per frame.

The families read the same median residual, Laplacian, grey moments,
half-size frame and its gradients; the two compiled passes (``passes``)
derive all of them in two walks over the frame, the gradients at a quarter
of the pixels. That is most of what keeps the
sampled-frame work small next to decoding.
"""

from __future__ import annotations

from functools import cached_property

import cv2
import numpy as np

from . import passes
from .blockmap import local_block


class FrameMaps:
    """Lazily computed maps and pass results of one grey uint8 frame."""

    def __init__(self, grey: np.ndarray):
        self.grey = np.ascontiguousarray(grey)

    @cached_property
    def pixels(self) -> int:
        return int(self.grey.size)

    @cached_property
    def full(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``passes.full_pass`` of the frame and its 3x3 median (OpenCV's uint8 median: 16 pixels a lane)."""
        return passes.full_pass(self.grey, cv2.medianBlur(self.grey, 3))

    def mean_of(self, scalar: int) -> float:
        """The frame mean of one of ``full_pass``'s sums (by its index)."""
        return float(self.full[0][scalar]) / max(1, self.pixels)

    @cached_property
    def residual_energy(self) -> float:
        """Mean squared median residual: |frame - its 3x3 median| is noise and fine texture, zero on flat
        areas and ramps."""
        return self.mean_of(passes.MEDIAN_SQ)

    @cached_property
    def laplacian_var(self) -> float:
        """Variance of the 3x3 Laplacian (from its sum and its sum of squares)."""
        return max(0.0, self.mean_of(passes.LAP_SQ) - self.mean_of(passes.LAP_SUM) ** 2)

    @cached_property
    def std(self) -> float:
        return float(np.sqrt(max(0.0, self.mean_of(passes.GREY_SQ) - self.mean_of(passes.GREY_SUM) ** 2)))

    @cached_property
    def half(self) -> tuple[np.ndarray, np.ndarray]:
        """``passes.half_pass`` with the local families' block (half of ``local_block``: 16 or 8 half pixels)."""
        return passes.half_pass(self.grey, local_block(self.grey.shape) // 2)


def maps_of(frame: np.ndarray | FrameMaps) -> FrameMaps:
    """The maps of a frame given as a grey uint8 array or as maps already."""
    return frame if isinstance(frame, FrameMaps) else FrameMaps(frame)
