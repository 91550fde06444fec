"""Blur and sharpness: re-encoding, rescaling and soft CGI lower edge energy.

The Laplacian variance is also given relative to the frame's variance, so a
flat scene and an upscaled (blurred) busy scene are told apart. The Laplacian
sees the finest scale at full resolution; the gradient statistics are taken on
the half-size frame the local-texture family filters too (a quarter of the
pixels, shared), where blur still lowers them.
"""

from __future__ import annotations

import numpy as np

from . import passes
from .maps import FrameMaps, maps_of

NAMES = ("sharp_laplacian_var", "sharp_gradient_mean", "sharp_tenengrad", "sharp_laplacian_norm")


def frame_sharpness(frame: np.ndarray | FrameMaps) -> np.ndarray:
    m = maps_of(frame)
    lap_var, g_var = m.laplacian_var, m.std**2
    sums = m.half[0]
    n = float(sums[passes.HALF_PIXELS])
    tenengrad = float(sums[passes.TENENGRAD]) / n  # mean(gx^2 + gy^2)
    mean_mag = float(sums[passes.MAGNITUDE]) / n
    return np.array([np.log1p(lap_var), mean_mag, np.log1p(tenengrad), np.log1p(lap_var / (g_var + 1.0))],
                    dtype=np.float64)
