"""8x8 block-DCT statistics: the domain JPEG/H.264-style codecs quantise in.

Each re-compression quantises the same coefficients again, which leaves
periodic gaps in their histograms (double quantisation) and kills high
frequencies; the block transform is done for all blocks at once as two
matrix products with no transposing copy between them, so it costs about
one pass over the frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from .maps import FrameMaps, maps_of

NAMES = ("dct_dc_energy", "dct_ac_energy", "dct_hf_ratio", "dct_ac_kurtosis", "dct_dq_periodicity", "dct_zero_ratio")


def _dct_matrix(n: int = 8) -> np.ndarray:
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0, :] = np.sqrt(1.0 / n)
    return m.astype(np.float32)  # orthonormal DCT-II, the same basis as cv2.dct


_D = _dct_matrix()
_DT = np.ascontiguousarray(_D.T)  # a transposed view would send the product down numpy's slower strided path
_K, _V = np.meshgrid(np.arange(8), np.arange(8), indexing="ij")
_HF = (_K + _V) >= 8


def coefficient_planes(frame: np.ndarray | FrameMaps) -> np.ndarray:
    """DCT of every 8x8 block (frame cropped to a multiple of 8), level-shifted as JPEG does.

    Shape (H/8, 8, W): ``c[by, k, 8 * bx + v]`` is the coefficient of vertical
    frequency k and horizontal frequency v of block (by, bx). Two products and
    no transposing copy: the rows of every block at once, then the columns of
    each row of blocks (a batched (8, 8) x (8, W) product).
    """
    m = maps_of(frame)
    h, w = (m.grey.shape[0] // 8) * 8, (m.grey.shape[1] // 8) * 8
    rows = m.g[:h, :w].reshape(h, w // 8, 8) @ _DT  # [y, bx, v]
    coef = np.matmul(_D, rows.reshape(h // 8, 8, w))  # [by, k, bx * 8 + v]
    coef[:, 0, 0::8] -= 1024.0  # the JPEG level shift (-128 per pixel) only moves the DC term: 8 * 128
    return coef


def block_dct(grey: np.ndarray) -> np.ndarray:
    """DCT of every 8x8 block of the frame: shape (N, 8, 8), [u, v] as ``cv2.dct`` of the block."""
    c = coefficient_planes(grey)
    return c.reshape(c.shape[0], 8, -1, 8).transpose(0, 2, 1, 3).reshape(-1, 8, 8)


def dq_periodicities(coefs: np.ndarray) -> np.ndarray:
    """Per row of ``coefs``: strength of the strongest non-zero frequency in its integer histogram."""
    k = coefs.shape[0]
    # values rounded and clipped to [-65, 65]: -65 and 65 collect what lies beyond the histogram's
    # [-64, 64], and are dropped with the zero bin; one bincount does every row's histogram side by side
    c = np.clip(np.rint(coefs), -65, 65).astype(np.intp)
    c += (np.arange(k) * 131 + 65)[:, None]
    hist = np.bincount(c.ravel(), minlength=k * 131).reshape(k, 131)[:, 1:130].astype(np.float64)
    hist[:, 64] = 0.0  # the zero coefficients
    # the spectrum without its DC term: the histogram's mean does not enter
    spec = np.abs(np.fft.rfft(hist, axis=1))
    total = spec[:, 1:].sum(axis=1)
    out = np.divide(spec[:, 2:].max(axis=1), total, out=np.zeros(k), where=total > 0)
    return np.where(hist.sum(axis=1) < 32, 0.0, out)


def _dq_periodicity(coef: np.ndarray) -> float:
    """``dq_periodicities`` of one coefficient's values."""
    return float(dq_periodicities(np.asarray(coef)[None])[0])


def frame_dct(frame: np.ndarray | FrameMaps) -> np.ndarray:
    m = maps_of(frame)
    if m.grey.shape[0] < 8 or m.grey.shape[1] < 8:
        return np.full(len(NAMES), np.nan)
    c = coefficient_planes(m)
    n = c.shape[0] * (c.shape[2] // 8)  # blocks
    # (0,1) and (1,0) are the lowest AC frequencies: present in every block, quantised coarsely
    per = float(dq_periodicities(np.stack([c[:, 1, 0::8].ravel(), c[:, 0, 1::8].ravel()])).mean())
    e = np.multiply(c, c, out=c)  # energies, in place
    dc = float(e[:, 0, 0::8].sum(dtype=np.float64)) / n
    e[:, 0, 0::8] = 0.0  # AC only from here: the DC energy would swamp the 4th moment
    col = e.sum(axis=0).reshape(8, -1, 8).sum(axis=1, dtype=np.float64)  # energy per coefficient [k, v]
    ac_sum = float(col.sum())
    ac = ac_sum / n
    hf = float(col[_HF].sum() / max(ac_sum, 1e-8))
    # AC coefficients have mean ~0: kurtosis from the 2nd and 4th raw moments of all of them
    n_ac = n * 63
    m2, m4 = ac_sum / n_ac, float(cv2.norm(e, cv2.NORM_L2SQR)) / n_ac
    kurt = m4 / (m2 * m2) - 3.0 if m2 > 1e-8 else 0.0
    zero = float(np.count_nonzero(e < 0.25) - n) / n_ac  # every zeroed DC term counts: take them off
    return np.array([np.log1p(dc), np.log1p(ac), hf, np.log1p(max(kurt, -0.99) + 1.0), per, zero], dtype=np.float64)
