"""Noise-residual features: what remains after denoising.

Camera sensor noise survives in original footage; re-encoding, rescaling and
synthetic rendering smooth it away or replace it with a different texture, so
the residual's energy and shape separate generations of a video. Content
changes the residual too, so two statistics are normalised: the residual
relative to the frame's contrast, and how unevenly the residual spreads over
16x16 blocks (a pasted, noise-free object or caption makes it uneven).
"""

from __future__ import annotations

import numpy as np

from . import passes
from .maps import FrameMaps, maps_of
from .native import compiled

NAMES = ("noise_median_energy", "noise_gauss_std", "noise_kurtosis", "noise_relative", "noise_inconsistency")


def frame_noise(frame: np.ndarray | FrameMaps) -> np.ndarray:
    """Residual statistics of one grey uint8 frame (or its shared maps), in NAMES order."""
    m = maps_of(frame)
    med_energy = m.residual_energy
    relative = float(np.sqrt(med_energy)) / (m.std + 1.0)
    incons = _inconsistency(m.full[2])
    # the residual of the 5x5 Gaussian (sigma 1): moments about zero (a high-pass residual has mean ~0)
    var, m4 = m.mean_of(passes.GAUSS_R2), m.mean_of(passes.GAUSS_R4)
    kurt = m4 / (var * var) - 3.0 if var > 1e-8 else 0.0
    return np.array([med_energy, float(np.sqrt(var)), kurt, relative, incons], dtype=np.float64)


@compiled("float64(int32[:, ::1])")
def _inconsistency(b8: np.ndarray) -> float:
    """How unevenly the residual spreads: the standard deviation of log(mean |median residual| + 0.5) over
    the 16x16 blocks, from the 8x8 blocks' sums of |residual| (NaN without a whole 16x16 block)."""
    bh, bw = b8.shape[0] // 2, b8.shape[1] // 2
    if bh == 0 or bw == 0:
        return np.nan
    v = np.empty(bh * bw)
    for by in range(bh):
        for bx in range(bw):
            total = b8[2 * by, 2 * bx] + b8[2 * by, 2 * bx + 1] + b8[2 * by + 1, 2 * bx] + b8[2 * by + 1, 2 * bx + 1]
            v[by * bw + bx] = np.log(total / 256.0 + 0.5)
    return np.std(v)
