"""Blur and sharpness: re-encoding, rescaling and soft CGI lower edge energy.

The Laplacian variance is also given relative to the frame's variance, so a
flat scene and an upscaled (blurred) busy scene are told apart. The Laplacian
sees the finest scale at full resolution; the gradient statistics are taken on
the half-size frame the local-texture family filters too (a quarter of the
pixels, shared), where blur still lowers them.
"""

from __future__ import annotations

import cv2
import numpy as np

from .maps import FrameMaps, maps_of

NAMES = ("sharp_laplacian_var", "sharp_gradient_mean", "sharp_tenengrad", "sharp_laplacian_norm")


def frame_sharpness(frame: np.ndarray | FrameMaps) -> np.ndarray:
    m = maps_of(frame)
    _, lap_std = cv2.meanStdDev(m.laplacian)  # int16 Laplacian, double accumulation
    lap_var, g_var = float(lap_std[0, 0]) ** 2, m.std**2
    gx, gy = m.half_gx, m.half_gy
    n = max(1, gx.size)
    # |g|^2 and |g| by plain IEEE arithmetic, summed by numpy in float64: OpenCV's magnitude and its float32
    # sums take other SIMD paths by the buffer's alignment, so they moved by 1e-11 from run to run
    sq = cv2.add(cv2.multiply(gx, gx), cv2.multiply(gy, gy))
    tenengrad = float(sq.sum(dtype=np.float64)) / n  # mean(gx^2 + gy^2)
    mean_mag = float(np.sqrt(sq, out=sq).sum(dtype=np.float64)) / n
    return np.array([np.log1p(lap_var), mean_mag, np.log1p(tenengrad), np.log1p(lap_var / (g_var + 1.0))],
                    dtype=np.float64)
