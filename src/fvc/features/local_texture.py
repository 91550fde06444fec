"""Local sharpness and texture inconsistency: blurred or cloned patches differ from their surroundings.

On the half-resolution frame (a quarter of the pixels to filter; blocks of
16x16 there, 32x32 of the original, 8x8 on small frames): per block the
Laplacian energy, its ratio to the gradient energy (blur lowers the
Laplacian faster than the gradient, whatever the contrast) and the
coherence of the gradient orientations (structure tensor: 1 for a single
orientation, 0 for all orientations alike; a cheap stand-in for the
orientation histogram's entropy). Then the ``blockmap`` statistics of the
first two maps and the mean and spread of the coherence, in one compiled call
(on small frames the calls cost more than the arithmetic).
"""

from __future__ import annotations

import numpy as np

from .blockmap import STATS, map_stats_native
from .maps import FrameMaps, maps_of
from .native import compiled

NAMES = (tuple(f"ltex_lap_{s}" for s in STATS) + tuple(f"ltex_ratio_{s}" for s in STATS)
         + ("ltex_coherence_mean", "ltex_coherence_spread"))
_N_STATS = len(STATS)
_N_NAMES = len(NAMES)


def texture_maps(frame: np.ndarray | FrameMaps) -> np.ndarray:
    """(log Laplacian energy, log Laplacian/gradient energy ratio, orientation coherence) per block."""
    return _texture_maps(maps_of(frame).half[1])


@compiled("float64[:, :, ::1](float64[:, :, ::1])")
def _texture_maps(half: np.ndarray) -> np.ndarray:
    """``texture_maps`` from the half pass's block means of Laplacian^2, gx^2, gy^2 and gx * gy."""
    out = np.empty((3, half.shape[1], half.shape[2]))
    for by in range(half.shape[1]):
        for bx in range(half.shape[2]):
            lap_e, jxx, jyy, jxy = half[0, by, bx], half[1, by, bx], half[2, by, bx], half[3, by, bx]
            out[0, by, bx] = np.log(lap_e + 1.0)
            out[1, by, bx] = out[0, by, bx] - np.log(jxx + jyy + 1.0)
            out[2, by, bx] = np.sqrt((jxx - jyy) ** 2 + 4.0 * jxy * jxy) / (jxx + jyy + 1.0)
    return out


def frame_local_texture(frame: np.ndarray | FrameMaps) -> np.ndarray:
    return _texture_stats(maps_of(frame).half[1])


@compiled("float64[::1](float64[:, :, ::1])")
def _texture_stats(half: np.ndarray) -> np.ndarray:
    """``NAMES`` from the half pass's block means in one compiled call: the ``map_stats`` of the first two
    maps (NaN under 2x2 blocks), the coherence's mean and standard deviation (NaN under 4 blocks)."""
    out = np.full(_N_NAMES, np.nan)
    maps = _texture_maps(half)
    if maps.shape[1] * maps.shape[2] < 4:
        return out
    out[:_N_STATS] = map_stats_native(maps[0])
    out[_N_STATS:2 * _N_STATS] = map_stats_native(maps[1])
    coherence = maps[2]
    out[2 * _N_STATS] = coherence.mean()
    out[2 * _N_STATS + 1] = coherence.std()
    return out
