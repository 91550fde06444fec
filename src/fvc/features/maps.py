"""Maps that several per-frame families share, each computed at most once per frame.

The families read the same median residual, Laplacian, half-size frame and
its Sobel gradients; computing each once per frame, in the cheapest exact
form (integer filters on the uint8 frame where the result is an integer,
integer block sums, gradients at a quarter of the pixels), is most of what
keeps the sampled-frame work small next to decoding.
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
    def median(self) -> np.ndarray:
        return cv2.medianBlur(self.grey, 3)

    @cached_property
    def abs_residual(self) -> np.ndarray:
        """|frame - its 3x3 median| (uint8, exact): noise and fine texture, zero on flat areas and ramps."""
        return cv2.absdiff(self.grey, self.median)

    @cached_property
    def residual_energy(self) -> float:
        """Mean squared median residual (an exact integer sum, in one pass)."""
        return float(cv2.norm(self.grey, self.median, cv2.NORM_L2SQR)) / max(1, self.pixels)

    @cached_property
    def residual_blocks8(self) -> np.ndarray:
        """Mean |median residual| of each 8x8 block (noise and local-noise families)."""
        return block_sums(self.abs_residual, 8) / 64.0

    @cached_property
    def laplacian(self) -> np.ndarray:
        """3x3 Laplacian as int16: exact (integer filter of uint8), and the cheapest OpenCV path."""
        return cv2.Laplacian(self.grey, cv2.CV_16S, ksize=3)

    @cached_property
    def half(self) -> np.ndarray:
        """The frame at half size, float32: the mean of each 2x2 pixel block (an odd last row or column is
        dropped). The gradient maps are taken here, a quarter of the work."""
        h, w = max(1, self.grey.shape[0] // 2), max(1, self.grey.shape[1] // 2)
        return cv2.resize(self.g[: 2 * h, : 2 * w], (w, h), interpolation=cv2.INTER_AREA)

    @cached_property
    def half_gx(self) -> np.ndarray:
        """Horizontal 3x3 Sobel of ``half`` (read-only: sharpness and local texture share it)."""
        return cv2.Sobel(self.half, cv2.CV_32F, 1, 0, ksize=3)

    @cached_property
    def half_gy(self) -> np.ndarray:
        return cv2.Sobel(self.half, cv2.CV_32F, 0, 1, ksize=3)

    @cached_property
    def std(self) -> float:
        return float(cv2.meanStdDev(self.grey)[1][0, 0])


def maps_of(frame: np.ndarray | FrameMaps) -> FrameMaps:
    """The maps of a frame given as a grey uint8 array or as maps already."""
    return frame if isinstance(frame, FrameMaps) else FrameMaps(frame)


def block_sums(img: np.ndarray, block: int) -> np.ndarray:
    """Sum of a uint8 image over each ``block`` x ``block`` tile (cropped to whole tiles), float32, exact.

    Each row's runs of ``block`` pixels summed in one OpenCV pass (int32: no overflow, a tile holds at
    most 255 * 32 * 32), then the ``block`` rows of each tile.
    """
    h, w = (img.shape[0] // block) * block, (img.shape[1] // block) * block
    runs = cv2.reduce(np.ascontiguousarray(img[:h, :w]).reshape(-1, block), 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S)
    return runs.reshape(h // block, block, w // block).sum(axis=1).astype(np.float32)

