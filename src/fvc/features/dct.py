"""8x8 block-DCT statistics: the domain JPEG/H.264-style codecs quantise in.

Each re-compression quantises the same coefficients again, which leaves
periodic gaps in their histograms (double quantisation) and kills high
frequencies; the block transform is done for all blocks at once as two
matrix products (as fast here as ``cv2.dct`` on the rows of reshaped
blocks, and half the passes), so it costs about one pass over the frame.
"""

from __future__ import annotations

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
_U, _V = np.meshgrid(np.arange(8), np.arange(8), indexing="ij")
_HF = (_U + _V) >= 8
_AC = ~((_U == 0) & (_V == 0))


def block_coefficients(grey: np.ndarray) -> np.ndarray:
    """DCT of every 8x8 block (frame cropped to a multiple of 8) as rows of 64, in [v, u] order.

    Two large (M, 8) x (8, 8) products: the rows of every block at once, a
    transposing reshape, then the columns; no loop over blocks.
    """
    h, w = (grey.shape[0] // 8) * 8, (grey.shape[1] // 8) * 8
    rows = grey[:h, :w].astype(np.float32).reshape(-1, 8) @ _D.T  # [y, bw, v]
    rows = rows.reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 3, 1).reshape(-1, 8)  # [bh, bw, v, y]
    coef = (rows @ _D.T).reshape(-1, 64)  # [block, v, u]
    coef[:, 0] -= 1024.0  # the JPEG level shift (-128 per pixel) only moves the DC term: 8 * 128
    return coef


def block_dct(grey: np.ndarray) -> np.ndarray:
    """DCT of every 8x8 block of the frame: shape (N, 8, 8), [u, v] as ``cv2.dct`` of the block."""
    return block_coefficients(grey).reshape(-1, 8, 8).transpose(0, 2, 1)


def _dq_periodicity(coef: np.ndarray) -> float:
    """Strength of the strongest non-zero frequency in a coefficient's integer histogram."""
    c = np.rint(coef)
    c = c[(np.abs(c) <= 64) & (c != 0)]
    if c.size < 32:
        return 0.0
    hist = np.bincount((c + 64).astype(np.int64), minlength=129).astype(np.float64)
    spec = np.abs(np.fft.rfft(hist - hist.mean()))
    total = spec[1:].sum()
    return float(spec[2:].max() / total) if total > 0 else 0.0


def frame_dct(frame: np.ndarray | FrameMaps) -> np.ndarray:
    grey = maps_of(frame).grey
    if grey.shape[0] < 8 or grey.shape[1] < 8:
        return np.full(len(NAMES), np.nan)
    d = block_coefficients(grey)  # (N, 64); the masks below are symmetric in u and v
    e = d * d
    ones = np.ones(e.shape[0], np.float32)
    col = (ones @ e).astype(np.float64)  # energy per coefficient over all blocks, one BLAS pass
    col4 = (ones @ (e * e)).astype(np.float64)
    n = e.shape[0]
    dc = float(col[0]) / n
    ac_sum = float(col[1:].sum())
    ac = ac_sum / n
    hf = float(col[_HF.ravel()].sum() / max(ac_sum, 1e-8))
    # AC coefficients have mean ~0: kurtosis from the 2nd and 4th raw moments of all of them
    n_ac = n * 63
    m2, m4 = ac_sum / n_ac, float(col4[1:].sum()) / n_ac
    kurt = m4 / (m2 * m2) - 3.0 if m2 > 1e-8 else 0.0
    # (0,1) and (1,0) are the lowest AC frequencies: present in every block, quantised coarsely
    per = 0.5 * (_dq_periodicity(d[:, 1]) + _dq_periodicity(d[:, 8]))
    zero = float(np.count_nonzero(e < 0.25) - np.count_nonzero(e[:, 0] < 0.25)) / n_ac
    return np.array([np.log1p(dc), np.log1p(ac), hf, np.log1p(max(kurt, -0.99) + 1.0), per, zero], dtype=np.float64)
