"""Block-boundary inconsistency: luminance jumps on the 8x8 coding grid versus off it.

A block codec at low quality makes steps at block edges; a video re-encoded
after a shift or rescale has them off the current grid, so the ratio of
on-grid to off-grid discontinuity tells compression history apart.
"""

from __future__ import annotations

import numpy as np

NAMES = ("block_boundary_ratio",)


def frame_blocking(grey: np.ndarray) -> np.ndarray:
    g = grey.astype(np.float32)
    dx = np.abs(np.diff(g, axis=1))  # dx[:, j] = |g[:, j+1] - g[:, j]|, boundary when j % 8 == 7
    dy = np.abs(np.diff(g, axis=0))
    if dx.shape[1] < 16 or dy.shape[0] < 16:
        return np.array([np.nan])
    on_x = (np.arange(dx.shape[1]) % 8) == 7
    on_y = (np.arange(dy.shape[0]) % 8) == 7
    on = dx[:, on_x].mean() + dy[on_y, :].mean()
    off = dx[:, ~on_x].mean() + dy[~on_y, :].mean()
    return np.array([float(on / off) if off > 1e-6 else 1.0])
