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
    mean, std = cv2.meanStdDev(cv2.magnitude(m.half_gx, m.half_gy))
    mean_mag, std_mag = float(mean[0, 0]), float(std[0, 0])
    # Tenengrad = mean(gx^2 + gy^2) = mean(|g|)^2 + var(|g|)
    return np.array([np.log1p(lap_var), mean_mag, np.log1p(mean_mag**2 + std_mag**2), np.log1p(lap_var / (g_var + 1.0))],
                    dtype=np.float64)
