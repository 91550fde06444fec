"""Block-boundary inconsistency: luminance jumps on the 8x8 coding grid versus off it.

A block codec at low quality makes steps at block edges; a video re-encoded
after a shift or rescale has them off the current grid, so the ratio of
on-grid to off-grid discontinuity tells compression history apart.
"""

from __future__ import annotations

import numpy as np

from . import passes
from .maps import FrameMaps, maps_of

NAMES = ("block_boundary_ratio",)


def frame_blocking(frame: np.ndarray | FrameMaps) -> np.ndarray:
    m = maps_of(frame)
    h, w = m.grey.shape
    if w < 17 or h < 17:
        return np.array([np.nan])
    # mean |step| across the column gaps (gap j between columns j and j + 1) on the grid (j % 8 == 7) and
    # off it, plus the same for the row gaps; from the exact integer sums of the full pass
    s = m.full[0]
    on_w, on_h = (w - 1) // 8, (h - 1) // 8  # gaps on the grid
    on = s[passes.STEP_X_ON] / (h * on_w) + s[passes.STEP_Y_ON] / (w * on_h)
    off = ((s[passes.STEP_X_ALL] - s[passes.STEP_X_ON]) / (h * (w - 1 - on_w))
           + (s[passes.STEP_Y_ALL] - s[passes.STEP_Y_ON]) / (w * (h - 1 - on_h)))
    return np.array([float(on / off) if off > 1e-6 else 1.0])
