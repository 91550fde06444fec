"""8x8 block-DCT statistics: the domain JPEG/H.264-style codecs quantise in.

Each re-compression quantises the same coefficients again, which leaves
periodic gaps in their histograms (double quantisation) and kills high
frequencies. The block transform is compiled (``jit``) and reduced band by
band as it is made: one walk over the frame, no coefficient array.
"""

from __future__ import annotations

import numpy as np

from .jit import compiled
from .maps import FrameMaps, maps_of

NAMES = ("dct_dc_energy", "dct_ac_energy", "dct_hf_ratio", "dct_ac_kurtosis", "dct_dq_periodicity", "dct_zero_ratio")


def _dct_matrix(n: int = 8) -> np.ndarray:
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0, :] = np.sqrt(1.0 / n)
    return m.astype(np.float32)  # orthonormal DCT-II, the same basis as cv2.dct


_D = _dct_matrix()  # frozen into the compiled band transform
_K, _V = np.meshgrid(np.arange(8), np.arange(8), indexing="ij")
_HF = (_K + _V) >= 8


@compiled("void(uint8[:, ::1], int64, float32[:, ::1], float32[:, ::1], float32[:, ::1], float32[:, ::1])")
def _band(grey: np.ndarray, by: int, out: np.ndarray, rowwise: np.ndarray, gathered: np.ndarray,
          rows: np.ndarray) -> None:
    """The DCT of the blocks in band ``by`` (pixel rows 8 by .. 8 by + 7) into ``out`` (8, W), level-shifted:
    ``out[k, 8 * bx + v]`` is the coefficient of vertical frequency k and horizontal frequency v of block bx.

    Each pixel row's blocks are transformed together (the same 8 products over every block, so they
    vectorise across blocks) into ``rowwise`` (8, W), then the columns, a whole row of blocks at a time;
    ``gathered`` and ``rows`` are (8, W / 8) scratch.
    """
    w = out.shape[1]
    nb = w // 8
    for y in range(8):
        row = grey[8 * by + y]
        for bx in range(nb):  # gathered[x, bx]: pixel x of block bx
            for x in range(8):
                gathered[x, bx] = row[8 * bx + x]
        for v in range(8):  # rows[v, bx] = sum_x D[v, x] * pixel[x, bx]
            acc = rows[v]
            acc[:] = 0.0
            for x in range(8):
                dvx = _D[v, x]
                px = gathered[x]
                for bx in range(nb):
                    acc[bx] += dvx * px[bx]
        r = rowwise[y]
        for bx in range(nb):
            for v in range(8):
                r[8 * bx + v] = rows[v, bx]
    for k in range(8):  # the columns: out[k] = sum_y D[k, y] * rowwise[y]
        o = out[k]
        o[:] = 0.0
        for y in range(8):
            dky = _D[k, y]
            r = rowwise[y]
            for x in range(w):
                o[x] += dky * r[x]
    for bx in range(nb):
        out[0, 8 * bx] -= 1024.0  # the JPEG level shift (-128 a pixel) only moves the DC term: 8 * 128


def coefficient_planes(frame: np.ndarray | FrameMaps) -> np.ndarray:
    """DCT of every 8x8 block (frame cropped to a multiple of 8), level-shifted as JPEG does: shape
    (H/8, 8, W), ``c[by, k, 8 * bx + v]`` the coefficient (k, v) of block (by, bx)."""
    grey = maps_of(frame).grey
    h, w = grey.shape[0] // 8, (grey.shape[1] // 8) * 8
    out = np.empty((h, 8, w), np.float32)
    rowwise, scratch = np.empty((8, w), np.float32), np.empty((2, 8, w // 8), np.float32)
    for by in range(h):
        _band(grey, by, out[by], rowwise, scratch[0], scratch[1])
    return out


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
    return dq_from_histograms(np.bincount(c.ravel(), minlength=k * 131).reshape(k, 131))


def dq_from_histograms(counts: np.ndarray) -> np.ndarray:
    """``dq_periodicities`` from each row's counts of the rounded values -65 .. 65 (clipped there)."""
    hist = counts[:, 1:130].astype(np.float64)
    hist[:, 64] = 0.0  # the zero coefficients
    # the spectrum without its DC term: the histogram's mean does not enter
    spec = np.abs(np.fft.rfft(hist, axis=1))
    total = spec[:, 1:].sum(axis=1)
    out = np.divide(spec[:, 2:].max(axis=1), total, out=np.zeros(len(hist)), where=total > 0)
    return np.where(hist.sum(axis=1) < 32, 0.0, out)


@compiled("Tuple((float64[:, ::1], float64, float64, int64, int64[:, ::1]))(uint8[:, ::1])")
def coefficient_stats(grey: np.ndarray) -> tuple[np.ndarray, float, float, int, np.ndarray]:
    """The block DCT of a grey uint8 frame, band by band (``_band``), reduced as it is made: (AC energy
    per coefficient [k, v], DC energy, sum of the AC energies squared, count of AC coefficients under 0.5
    in magnitude, counts of the rounded (1, 0) and (0, 1) coefficients from -65 to 65, clipped there)."""
    nby, w = grey.shape[0] // 8, (grey.shape[1] // 8) * 8
    band, rowwise = np.empty((8, w), np.float32), np.empty((8, w), np.float32)
    scratch = np.empty((2, 8, w // 8), np.float32)
    plane = np.zeros((8, w), np.float32)  # energy per [k, x], folded to [k, v] at the end
    hist = np.zeros((2, 131), np.int64)
    dc = 0.0
    m4 = 0.0
    small = -nby * (w // 8)  # the zeroed DC terms are counted below: start below by their number
    for by in range(nby):
        _band(grey, by, band, rowwise, scratch[0], scratch[1])
        for x in range(0, w, 8):
            hist[0, int(min(65.0, max(-65.0, np.rint(band[1, x])))) + 65] += 1
            hist[1, int(min(65.0, max(-65.0, np.rint(band[0, x + 1])))) + 65] += 1
            dc += band[0, x] * band[0, x]
            band[0, x] = 0.0  # the DC energy apart: it would swamp the AC moments
        for k in range(8):
            row = band[k]
            acc = plane[k]
            q = np.float32(0.0)
            z = np.float32(0.0)
            for x in range(w):
                e = row[x] * row[x]
                acc[x] += e
                q += e * e
                z += np.float32(1.0) if e < np.float32(0.25) else np.float32(0.0)
            m4 += q
            small += int(z)
    col = np.zeros((8, 8))
    for k in range(8):
        for x in range(w):
            col[k, x % 8] += plane[k, x]
    return col, dc, m4, small, hist


def _dq_periodicity(coef: np.ndarray) -> float:
    """``dq_periodicities`` of one coefficient's values."""
    return float(dq_periodicities(np.asarray(coef)[None])[0])


def frame_dct(frame: np.ndarray | FrameMaps) -> np.ndarray:
    m = maps_of(frame)
    if m.grey.shape[0] < 8 or m.grey.shape[1] < 8:
        return np.full(len(NAMES), np.nan)
    col, dc_sum, m4_sum, small, hist = coefficient_stats(m.grey)
    n = (m.grey.shape[0] // 8) * (m.grey.shape[1] // 8)  # blocks
    # (0,1) and (1,0) are the lowest AC frequencies: present in every block, quantised coarsely
    per = float(dq_from_histograms(hist).mean())
    ac_sum = float(col.sum())  # the DC energy apart: it would swamp the 4th moment
    dc, ac = dc_sum / n, ac_sum / n
    hf = float(col[_HF].sum() / max(ac_sum, 1e-8))
    # AC coefficients have mean ~0: kurtosis from the 2nd and 4th raw moments of all of them
    n_ac = n * 63
    m2, m4 = ac_sum / n_ac, m4_sum / n_ac
    kurt = m4 / (m2 * m2) - 3.0 if m2 > 1e-8 else 0.0
    zero = float(small) / n_ac
    return np.array([np.log1p(dc), np.log1p(ac), hf, np.log1p(max(kurt, -0.99) + 1.0), per, zero], dtype=np.float64)
