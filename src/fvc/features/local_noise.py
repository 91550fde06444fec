"""Local noise inconsistency: inpainted, spliced or pasted regions carry other noise than the camera's.

A noise level per 32x32 block (the lower quartile of its sixteen 8x8 mean
absolute second-order residuals, so edges and texture do not count as
noise), then how that map departs from uniform (``blockmap.map_stats``).
"""

from __future__ import annotations

import cv2
import numpy as np

from .blockmap import STATS, block_means, map_stats

NAMES = tuple(f"lnoise_{s}" for s in STATS)
BLOCK = 32
# second-order residual: zero on any linear ramp, so shading does not read as noise
_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32) / 4.0


def noise_map(grey: np.ndarray) -> np.ndarray:
    """Log noise level of each 32x32 block (shape H/32 x W/32)."""
    r = cv2.filter2D(grey, cv2.CV_32F, _KERNEL, borderType=cv2.BORDER_REFLECT)
    sub = block_means(cv2.absdiff(r, 0.0), 8)  # mean |residual| per 8x8 block
    bh, bw = sub.shape[0] // 4, sub.shape[1] // 4
    if not bh or not bw:
        return np.zeros((0, 0), np.float32)
    tiles = sub[: bh * 4, : bw * 4].reshape(bh, 4, bw, 4).transpose(0, 2, 1, 3).reshape(bh, bw, 16)
    level = np.partition(tiles, 4, axis=2)[..., 4]  # lower quartile of the 16 sub-blocks
    return np.log(level + 0.25)


def frame_local_noise(grey: np.ndarray) -> np.ndarray:
    return map_stats(noise_map(grey))
