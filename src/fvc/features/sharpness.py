"""Blur and sharpness: re-encoding, rescaling and soft CGI lower edge energy."""

from __future__ import annotations

import cv2
import numpy as np

NAMES = ("sharp_laplacian_var", "sharp_gradient_mean", "sharp_tenengrad")


def frame_sharpness(grey: np.ndarray) -> np.ndarray:
    g = grey.astype(np.float32)
    lap = cv2.Laplacian(g, cv2.CV_32F, ksize=3)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    mag2 = gx * gx + gy * gy
    return np.array(
        [np.log1p(float(lap.var())), float(np.sqrt(mag2).mean()), np.log1p(float(mag2.mean()))], dtype=np.float64
    )
