"""Local noise inconsistency: inpainted, spliced or pasted regions carry other noise than the camera's.

A noise level per 32x32 block (16x16 on small frames; the lower quartile of
its sixteen sub-blocks' mean absolute median residual, so edges and texture
do not count as noise),
then how that map departs from uniform (``blockmap.map_stats``), in one
compiled call from the full pass's sub-block sums.
"""

from __future__ import annotations

import numpy as np

from .blockmap import STATS, map_stats_native, local_block
from .maps import FrameMaps, maps_of
from .native import compiled

NAMES = tuple(f"lnoise_{s}" for s in STATS)


def _sub_blocks(m: FrameMaps) -> tuple[np.ndarray, float]:
    """The sums of |median residual| over the sub-blocks (8x8, or 4x4 on small frames) and their pixel count."""
    return (m.full[2], 64.0) if local_block(m.grey.shape) == 32 else (m.full[1], 16.0)


def noise_map(frame: np.ndarray | FrameMaps) -> np.ndarray:
    """Log noise level of each block (``local_block``: shape H/32 x W/32 on most frames)."""
    return _noise_map(*_sub_blocks(maps_of(frame)))


def frame_local_noise(frame: np.ndarray | FrameMaps) -> np.ndarray:
    return _local_noise(*_sub_blocks(maps_of(frame)))


@compiled("float32[:, ::1](int32[:, ::1], float64)")
def _noise_map(sums: np.ndarray, area: float) -> np.ndarray:
    """``noise_map`` from the sub-blocks' sums of |residual| over ``area`` pixels each: per block of 4x4
    sub-blocks, the log of the lower quartile (the 5th smallest of 16) of their means, plus 0.25."""
    bh, bw = sums.shape[0] // 4, sums.shape[1] // 4
    out = np.empty((bh, bw), np.float32)
    low = np.empty(5, np.int32)  # the 5 smallest sums so far, ascending
    for by in range(bh):
        for bx in range(bw):
            n = 0
            for k in range(16):
                v = sums[4 * by + k // 4, 4 * bx + k % 4]
                if n == 5 and v >= low[4]:
                    continue
                j = min(n, 4)  # insert v: larger ones move up, the largest of 5 drops out
                while j > 0 and low[j - 1] > v:
                    low[j] = low[j - 1]
                    j -= 1
                low[j] = v
                n = min(n + 1, 5)
            out[by, bx] = np.log(np.float32(low[4]) / np.float32(area) + np.float32(0.25))
    return out


@compiled("float64[::1](int32[:, ::1], float64)")
def _local_noise(sums: np.ndarray, area: float) -> np.ndarray:
    """``NAMES`` from the sub-block sums: the map's ``map_stats`` (NaN under 2x2 blocks)."""
    return map_stats_native(_noise_map(sums, area).astype(np.float64))
