"""8x8 block-DCT statistics: the domain JPEG/H.264-style codecs quantise in.

Each re-compression quantises the same coefficients again, which leaves
periodic gaps in their histograms (double quantisation) and kills high
frequencies; the block transform is done for all blocks at once as two
matrix products, so it costs about as much as one pass over the frame.
"""

from __future__ import annotations

import numpy as np

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


def block_dct(grey: np.ndarray) -> np.ndarray:
    """DCT of every 8x8 block of the frame (cropped to a multiple of 8): shape (N, 8, 8).

    Rows first as one batched product over full-width strips, then columns as
    one (N*8, 8) x (8, 8) product: two large BLAS calls instead of N tiny ones.
    """
    h, w = (grey.shape[0] // 8) * 8, (grey.shape[1] // 8) * 8
    g = grey[:h, :w].astype(np.float32)
    g -= 128.0
    rows = np.matmul(_D, g.reshape(h // 8, 8, w))  # (H/8, 8[u], W)
    coef = (rows.reshape(-1, 8) @ _D.T).reshape(h // 8, 8, w // 8, 8)  # [bh, u, bw, v]
    return coef.transpose(0, 2, 1, 3).reshape(-1, 8, 8)


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


def frame_dct(grey: np.ndarray) -> np.ndarray:
    if grey.shape[0] < 8 or grey.shape[1] < 8:
        return np.full(len(NAMES), np.nan)
    d = block_dct(grey).reshape(-1, 64)
    e = d * d
    dc = float(e[:, 0].mean())
    total = e.sum(axis=1)
    ac_total = total - e[:, 0]
    ac = float(ac_total.mean())
    hf = float(e[:, _HF.ravel()].sum() / max(float(ac_total.sum()), 1e-8))
    # AC coefficients have mean ~0: kurtosis from the 2nd and 4th raw moments of all of them
    n_ac = e.shape[0] * 63
    m2 = float(ac_total.sum()) / n_ac
    m4 = float((e * e).sum() - (e[:, 0] * e[:, 0]).sum()) / n_ac
    kurt = m4 / (m2 * m2) - 3.0 if m2 > 1e-8 else 0.0
    d = d.reshape(-1, 8, 8)
    # (0,1) and (1,0) are the lowest AC frequencies: present in every block, quantised coarsely
    per = 0.5 * (_dq_periodicity(d[:, 0, 1]) + _dq_periodicity(d[:, 1, 0]))
    zero = float(np.count_nonzero(e < 0.25) - np.count_nonzero(e[:, 0] < 0.25)) / n_ac
    return np.array([np.log1p(dc), np.log1p(ac), hf, np.log1p(max(kurt, -0.99) + 1.0), per, zero], dtype=np.float64)
