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

NAMES = ("noise_median_energy", "noise_gauss_std", "noise_kurtosis", "noise_relative", "noise_inconsistency")


def frame_noise(frame: np.ndarray | FrameMaps) -> np.ndarray:
    """Residual statistics of one grey uint8 frame (or its shared maps), in NAMES order."""
    m = maps_of(frame)
    med_energy = m.residual_energy
    relative = float(np.sqrt(med_energy)) / (m.std + 1.0)
    # how unevenly the residual spreads: log mean |residual| over 16x16 blocks (four 8x8 blocks each)
    b8 = m.residual_blocks8
    bh, bw = b8.shape[0] // 2, b8.shape[1] // 2
    if bh and bw:
        block = b8[: bh * 2, : bw * 2].reshape(bh, 2, bw, 2).mean(axis=(1, 3))
        incons = float(np.log(block + 0.5).std())
    else:
        incons = float("nan")
    # the residual of the 5x5 Gaussian (sigma 1): moments about zero (a high-pass residual has mean ~0)
    var, m4 = m.mean_of(passes.GAUSS_R2), m.mean_of(passes.GAUSS_R4)
    kurt = m4 / (var * var) - 3.0 if var > 1e-8 else 0.0
    return np.array([med_energy, float(np.sqrt(var)), kurt, relative, incons], dtype=np.float64)
