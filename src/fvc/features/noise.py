"""Noise-residual features: what remains after denoising.

Camera sensor noise survives in original footage; re-encoding, rescaling and
synthetic rendering smooth it away or replace it with a different texture, so
the residual's energy and shape separate generations of a video.
"""

from __future__ import annotations

import cv2
import numpy as np

NAMES = ("noise_median_energy", "noise_gauss_std", "noise_kurtosis")


def frame_noise(grey: np.ndarray) -> np.ndarray:
    """Three residual statistics of one grey uint8 frame."""
    g = grey.astype(np.float32)
    med = cv2.medianBlur(grey, 3).astype(np.float32)
    r_med = g - med
    r_gauss = g - cv2.GaussianBlur(g, (5, 5), 1.0)
    var = float(r_gauss.var())
    centred = r_gauss - r_gauss.mean()
    kurt = float(np.mean(centred**4) / (var**2)) - 3.0 if var > 1e-8 else 0.0
    return np.array([float(np.mean(r_med * r_med)), float(np.sqrt(var)), kurt], dtype=np.float64)
