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

from .blockmap import block_means
from .maps import FrameMaps, maps_of, mean_square

NAMES = ("noise_median_energy", "noise_gauss_std", "noise_kurtosis", "noise_relative", "noise_inconsistency")


def frame_noise(frame: np.ndarray | FrameMaps) -> np.ndarray:
    """Residual statistics of one grey uint8 frame (or its shared maps), in NAMES order."""
    m = maps_of(frame)
    r_med = m.residual_median
    r2 = cv2.multiply(r_med, r_med)
    med_energy = float(cv2.sumElems(r2)[0]) / m.pixels
    relative = float(np.sqrt(med_energy)) / (m.std + 1.0)
    block_ms = block_means(r2, 16)  # per-block residual mean square
    incons = float(np.log(np.sqrt(block_ms) + 0.5).std()) if block_ms.size else float("nan")
    r = cv2.subtract(m.g, cv2.GaussianBlur(m.g, (5, 5), 1.0))
    # moments about zero: a high-pass residual has mean ~0
    rr = cv2.multiply(r, r)
    var = float(cv2.sumElems(rr)[0]) / m.pixels
    m4 = mean_square(rr)
    kurt = m4 / (var * var) - 3.0 if var > 1e-8 else 0.0
    return np.array([med_energy, float(np.sqrt(var)), kurt, relative, incons], dtype=np.float64)
