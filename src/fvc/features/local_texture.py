"""Local sharpness and texture inconsistency: blurred or cloned patches differ from their surroundings.

On the half-resolution frame (16x16 blocks there, 32x32 of the original):
Laplacian energy per block, its ratio to gradient energy (blur lowers the
Laplacian faster than the gradient, whatever the contrast) and the entropy
of the block's gradient-orientation histogram; then the map statistics of
``blockmap`` for the first two and the mean and spread of the entropy.
"""

from __future__ import annotations

import cv2
import numpy as np

from .blockmap import STATS, block_means, map_stats

NAMES = (tuple(f"ltex_lap_{s}" for s in STATS) + tuple(f"ltex_ratio_{s}" for s in STATS)
         + ("ltex_entropy_mean", "ltex_entropy_spread"))
BLOCK = 16  # on the half-resolution frame
BINS = 6


def texture_maps(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log Laplacian energy, log Laplacian/gradient energy ratio, orientation entropy) per block."""
    half = cv2.resize(grey, (grey.shape[1] // 2, grey.shape[0] // 2), interpolation=cv2.INTER_AREA).astype(np.float32)
    lap = cv2.Laplacian(half, cv2.CV_32F, ksize=1)
    gx = cv2.Sobel(half, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(half, cv2.CV_32F, 0, 1, ksize=3)
    mag, ang = cv2.cartToPolar(gx, gy)
    lap_e = block_means(cv2.multiply(lap, lap), BLOCK)
    grad_e = block_means(cv2.multiply(mag, mag), BLOCK)
    log_lap = np.log(lap_e + 1.0)
    ratio = log_lap - np.log(grad_e + 1.0)
    # orientation modulo pi in BINS bins, magnitude-weighted, one area pass per bin
    b = (ang * (BINS / np.pi)).astype(np.int32) % BINS
    hist = np.stack([block_means(np.where(b == k, mag, 0.0).astype(np.float32), BLOCK) for k in range(BINS)], -1)
    p = hist / (hist.sum(-1, keepdims=True) + 1e-6)
    entropy = -(p * np.log(p + 1e-9)).sum(-1) / np.log(BINS)
    return log_lap, ratio, entropy


def frame_local_texture(grey: np.ndarray) -> np.ndarray:
    log_lap, ratio, entropy = texture_maps(grey)
    if entropy.size < 4:
        return np.full(len(NAMES), np.nan)
    return np.concatenate([map_stats(log_lap), map_stats(ratio), [float(entropy.mean()), float(entropy.std())]])
