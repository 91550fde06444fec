"""Noise-residual features: what remains after denoising.

Camera sensor noise survives in original footage; re-encoding, rescaling and
synthetic rendering smooth it away or replace it with a different texture, so
the residual's energy and shape separate generations of a video. Content
changes the residual too, so two statistics are normalised: the residual
relative to the frame's contrast, and how unevenly the residual spreads over
16x16 blocks (a pasted, noise-free object or caption makes it uneven).
"""

from __future__ import annotations

import cv2
import numpy as np

NAMES = ("noise_median_energy", "noise_gauss_std", "noise_kurtosis", "noise_relative", "noise_inconsistency")


def frame_noise(grey: np.ndarray, g: np.ndarray | None = None) -> np.ndarray:
    """Three residual statistics of one grey uint8 frame (``g``: the same frame as float32)."""
    g = grey.astype(np.float32) if g is None else g
    r_med = cv2.subtract(g, cv2.medianBlur(grey, 3), dtype=cv2.CV_32F)
    r2 = cv2.multiply(r_med, r_med)
    med_energy = float(cv2.mean(r2)[0])
    _, frame_std = cv2.meanStdDev(g)
    relative = float(np.sqrt(med_energy)) / (float(frame_std[0, 0]) + 1.0)
    h, w = (g.shape[0] // 16) * 16, (g.shape[1] // 16) * 16
    if h and w:
        # per-block residual RMS via a 16x area average of the squared residual
        block_ms = cv2.resize(r2[:h, :w], (w // 16, h // 16), interpolation=cv2.INTER_AREA)
        incons = float(np.log(np.sqrt(block_ms) + 0.5).std())
    else:
        incons = float("nan")
    r = cv2.subtract(g, cv2.GaussianBlur(g, (5, 5), 1.0))
    mean, std = cv2.meanStdDev(r)
    var = float(std[0, 0]) ** 2
    c2 = cv2.subtract(r, float(mean[0, 0]))
    c2 = cv2.multiply(c2, c2)
    m4 = float(cv2.mean(cv2.multiply(c2, c2))[0])
    kurt = m4 / (var * var) - 3.0 if var > 1e-8 else 0.0
    return np.array([med_energy, float(np.sqrt(var)), kurt, relative, incons], dtype=np.float64)
