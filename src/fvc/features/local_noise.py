"""Local noise inconsistency: inpainted, spliced or pasted regions carry other noise than the camera's.

A noise level per 32x32 block (16x16 on small frames; the lower quartile of
its sixteen sub-blocks' mean absolute median residual, so edges and texture
do not count as noise),
then how that map departs from uniform (``blockmap.map_stats``).
"""

from __future__ import annotations

import numpy as np

from .blockmap import STATS, local_block, map_stats
from .maps import FrameMaps, maps_of

NAMES = tuple(f"lnoise_{s}" for s in STATS)


def noise_map(frame: np.ndarray | FrameMaps) -> np.ndarray:
    """Log noise level of each block (``local_block``: shape H/32 x W/32 on most frames)."""
    m = maps_of(frame)
    # mean |residual| per 8x8 sub-block (shared with the noise family), or 4x4 on small frames
    sub = m.residual_blocks8 if local_block(m.grey.shape) == 32 else m.residual_blocks4
    bh, bw = sub.shape[0] // 4, sub.shape[1] // 4
    if not bh or not bw:
        return np.zeros((0, 0), np.float32)
    tiles = sub[: bh * 4, : bw * 4].reshape(bh, 4, bw, 4).transpose(0, 2, 1, 3).reshape(bh, bw, 16)
    level = np.partition(tiles, 4, axis=2)[..., 4]  # lower quartile of the 16 sub-blocks
    return np.log(level + 0.25)


def frame_local_noise(frame: np.ndarray | FrameMaps) -> np.ndarray:
    return map_stats(noise_map(frame))
