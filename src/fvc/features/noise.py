"""Noise-residual features: what remains after denoising.

Camera sensor noise survives in original footage; re-encoding, rescaling and
synthetic rendering smooth it away or replace it with a different texture, so
the residual's energy and shape separate generations of a video.
"""

from __future__ import annotations

import cv2
import numpy as np

NAMES = ("noise_median_energy", "noise_gauss_std", "noise_kurtosis")


def frame_noise(grey: np.ndarray, g: np.ndarray | None = None) -> np.ndarray:
    """Three residual statistics of one grey uint8 frame (``g``: the same frame as float32)."""
    g = grey.astype(np.float32) if g is None else g
    r_med = cv2.subtract(g, cv2.medianBlur(grey, 3), dtype=cv2.CV_32F)
    med_energy = float(cv2.mean(cv2.multiply(r_med, r_med))[0])
    r = cv2.subtract(g, cv2.GaussianBlur(g, (5, 5), 1.0))
    mean, std = cv2.meanStdDev(r)
    var = float(std[0, 0]) ** 2
    c2 = cv2.subtract(r, float(mean[0, 0]))
    c2 = cv2.multiply(c2, c2)
    m4 = float(cv2.mean(cv2.multiply(c2, c2))[0])
    kurt = m4 / (var * var) - 3.0 if var > 1e-8 else 0.0
    return np.array([med_energy, float(np.sqrt(var)), kurt], dtype=np.float64)
