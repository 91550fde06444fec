"""Block-boundary inconsistency: luminance jumps on the 8x8 coding grid versus off it.

A block codec at low quality makes steps at block edges; a video re-encoded
after a shift or rescale has them off the current grid, so the ratio of
on-grid to off-grid discontinuity tells compression history apart.
"""

from __future__ import annotations

import cv2
import numpy as np

from .maps import FrameMaps, maps_of

NAMES = ("block_boundary_ratio",)


def frame_blocking(frame: np.ndarray | FrameMaps) -> np.ndarray:
    grey = maps_of(frame).grey
    if grey.shape[1] < 17 or grey.shape[0] < 17:
        return np.array([np.nan])
    # Mean |step| per column gap (dx[j] = between columns j and j+1) and per row gap, on uint8 (exact).
    dx = cv2.reduce(cv2.absdiff(grey[:, 1:], grey[:, :-1]), 0, cv2.REDUCE_AVG, dtype=cv2.CV_32F).ravel()
    dy = cv2.reduce(cv2.absdiff(grey[1:, :], grey[:-1, :]), 1, cv2.REDUCE_AVG, dtype=cv2.CV_32F).ravel()
    # gap j lies on the grid when j % 8 == 7 (between columns 8k+7 and 8k+8)
    on_x, on_y = dx[7::8], dy[7::8]
    on = on_x.mean() + on_y.mean()
    off = (dx.sum() - on_x.sum()) / (dx.size - on_x.size) + (dy.sum() - on_y.sum()) / (dy.size - on_y.size)
    return np.array([float(on / off) if off > 1e-6 else 1.0])
