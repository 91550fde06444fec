"""Blur and sharpness: re-encoding, rescaling and soft CGI lower edge energy.

The Laplacian variance is also given relative to the frame's variance, so a
flat scene and an upscaled (blurred) busy scene are told apart.
"""

from __future__ import annotations

import cv2
import numpy as np

NAMES = ("sharp_laplacian_var", "sharp_gradient_mean", "sharp_tenengrad", "sharp_laplacian_norm")


def frame_sharpness(grey: np.ndarray, g: np.ndarray | None = None) -> np.ndarray:
    g = grey.astype(np.float32) if g is None else g
    _, lap_std = cv2.meanStdDev(cv2.Laplacian(g, cv2.CV_32F, ksize=3))
    _, g_std = cv2.meanStdDev(g)
    lap_var, g_var = float(lap_std[0, 0]) ** 2, float(g_std[0, 0]) ** 2
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    m, s = cv2.meanStdDev(cv2.magnitude(gx, gy))
    mean_mag, std_mag = float(m[0, 0]), float(s[0, 0])
    # Tenengrad = mean(gx^2 + gy^2) = mean(|g|)^2 + var(|g|)
    return np.array([np.log1p(lap_var), mean_mag, np.log1p(mean_mag**2 + std_mag**2), np.log1p(lap_var / (g_var + 1.0))],
                    dtype=np.float64)
