"""Block-boundary inconsistency: luminance jumps on the 8x8 coding grid versus off it.

A block codec at low quality makes steps at block edges; a video re-encoded
after a shift or rescale has them off the current grid, so the ratio of
on-grid to off-grid discontinuity tells compression history apart.
"""

from __future__ import annotations

import cv2
import numpy as np

NAMES = ("block_boundary_ratio",)


def frame_blocking(grey: np.ndarray, g: np.ndarray | None = None) -> np.ndarray:
    g = grey.astype(np.float32) if g is None else g
    if g.shape[1] < 17 or g.shape[0] < 17:
        return np.array([np.nan])
    # Mean |step| per column gap (dx[j] = between columns j and j+1) and per row gap.
    dx = cv2.reduce(cv2.absdiff(g[:, 1:], g[:, :-1]), 0, cv2.REDUCE_AVG).ravel()
    dy = cv2.reduce(cv2.absdiff(g[1:, :], g[:-1, :]), 1, cv2.REDUCE_AVG).ravel()
    on_x = (np.arange(dx.size) % 8) == 7
    on_y = (np.arange(dy.size) % 8) == 7
    on = dx[on_x].mean() + dy[on_y].mean()
    off = dx[~on_x].mean() + dy[~on_y].mean()
    return np.array([float(on / off) if off > 1e-6 else 1.0])
