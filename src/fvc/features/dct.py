"""8x8 block-DCT statistics: the domain JPEG/H.264-style codecs quantise in.

Each re-compression quantises the same coefficients again, which leaves
periodic gaps in their histograms (double quantisation) and kills high
frequencies. The block transform is compiled (``native``) and reduced band by
band as it is made: one walk over the frame, no coefficient array, and the
features follow in the same call (on small frames the calls cost more than the
arithmetic).
"""

from __future__ import annotations

import numpy as np

from .native import compiled
from .maps import FrameMaps, maps_of

NAMES = ("dct_dc_energy", "dct_ac_energy", "dct_hf_ratio", "dct_ac_kurtosis", "dct_dq_periodicity", "dct_zero_ratio")
_N_NAMES = len(NAMES)


def _dct_matrix(n: int = 8) -> np.ndarray:
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0, :] = np.sqrt(1.0 / n)
    return m.astype(np.float32)  # orthonormal DCT-II, the same basis as cv2.dct


_D = _dct_matrix()  # frozen into the compiled band transform
_BINS = 129  # the DQ histograms' rounded values -64 .. 64
# cos and sin of 2 pi k / _BINS: the DFT's phases (frozen into the compiled pass)
_TWIDDLE = np.stack([np.cos(2 * np.pi * np.arange(_BINS) / _BINS), np.sin(2 * np.pi * np.arange(_BINS) / _BINS)])


@compiled()
def _dct8(a0, a1, a2, a3, a4, a5, a6, a7):
    """The 8-point DCT-II (``_D``) of eight float32 values, by its symmetry: the even frequencies are dot
    products with the sums a[x] + a[7 - x], the odd ones with the differences (32 products, not 64)."""
    s0, s1, s2, s3 = a0 + a7, a1 + a6, a2 + a5, a3 + a4
    d0, d1, d2, d3 = a0 - a7, a1 - a6, a2 - a5, a3 - a4
    return (_D[0, 0] * s0 + _D[0, 1] * s1 + _D[0, 2] * s2 + _D[0, 3] * s3,
            _D[1, 0] * d0 + _D[1, 1] * d1 + _D[1, 2] * d2 + _D[1, 3] * d3,
            _D[2, 0] * s0 + _D[2, 1] * s1 + _D[2, 2] * s2 + _D[2, 3] * s3,
            _D[3, 0] * d0 + _D[3, 1] * d1 + _D[3, 2] * d2 + _D[3, 3] * d3,
            _D[4, 0] * s0 + _D[4, 1] * s1 + _D[4, 2] * s2 + _D[4, 3] * s3,
            _D[5, 0] * d0 + _D[5, 1] * d1 + _D[5, 2] * d2 + _D[5, 3] * d3,
            _D[6, 0] * s0 + _D[6, 1] * s1 + _D[6, 2] * s2 + _D[6, 3] * s3,
            _D[7, 0] * d0 + _D[7, 1] * d1 + _D[7, 2] * d2 + _D[7, 3] * d3)


@compiled("void(uint8[:, ::1], int64, float32[:, :, ::1], float32[:, :, ::1], float32[:, ::1])")
def _band(grey: np.ndarray, by: int, out: np.ndarray, rowwise: np.ndarray, gathered: np.ndarray) -> None:
    """The DCT of the blocks in band ``by`` (pixel rows 8 by .. 8 by + 7) into ``out`` (8, 8, W / 8),
    level-shifted: ``out[k, v, bx]`` is the coefficient of vertical frequency k and horizontal frequency v
    of block bx.

    Each 1-D transform (``_dct8``) runs across the band's blocks (a vector lane per block): first each
    pixel row's blocks (``rowwise[y, v, bx]``), then the columns; ``rowwise`` (8, 8, W / 8) and
    ``gathered`` (8, W / 8) are scratch.
    """
    nb = out.shape[2]
    p0, p1, p2, p3, p4, p5, p6, p7 = (gathered[0], gathered[1], gathered[2], gathered[3], gathered[4],
                                      gathered[5], gathered[6], gathered[7])
    for y in range(8):
        row = grey[8 * by + y]
        for x in range(8):  # gathered[x, bx]: pixel x of block bx
            g = gathered[x]
            for bx in range(nb):
                g[bx] = row[8 * bx + x]
        o = rowwise[y]
        for bx in range(nb):
            (o[0, bx], o[1, bx], o[2, bx], o[3, bx], o[4, bx], o[5, bx], o[6, bx],
             o[7, bx]) = _dct8(p0[bx], p1[bx], p2[bx], p3[bx], p4[bx], p5[bx], p6[bx], p7[bx])
    for v in range(8):
        r0, r1, r2, r3, r4, r5, r6, r7 = (rowwise[0, v], rowwise[1, v], rowwise[2, v], rowwise[3, v],
                                          rowwise[4, v], rowwise[5, v], rowwise[6, v], rowwise[7, v])
        for bx in range(nb):
            (out[0, v, bx], out[1, v, bx], out[2, v, bx], out[3, v, bx], out[4, v, bx], out[5, v, bx],
             out[6, v, bx], out[7, v, bx]) = _dct8(r0[bx], r1[bx], r2[bx], r3[bx], r4[bx], r5[bx], r6[bx], r7[bx])
    dc = out[0, 0]
    for bx in range(nb):
        dc[bx] -= 1024.0  # the JPEG level shift (-128 a pixel) only moves the DC term: 8 * 128


def coefficient_planes(frame: np.ndarray | FrameMaps) -> np.ndarray:
    """DCT of every 8x8 block (frame cropped to a multiple of 8), level-shifted as JPEG does: shape
    (H/8, 8, 8, W/8), ``c[by, k, v, bx]`` the coefficient (k, v) of block (by, bx)."""
    grey = maps_of(frame).grey
    h, nb = grey.shape[0] // 8, grey.shape[1] // 8
    out = np.empty((h, 8, 8, nb), np.float32)
    rowwise, gathered = np.empty((8, 8, nb), np.float32), np.empty((8, nb), np.float32)
    for by in range(h):
        _band(grey, by, out[by], rowwise, gathered)
    return out


def block_dct(grey: np.ndarray) -> np.ndarray:
    """DCT of every 8x8 block of the frame: shape (N, 8, 8), [u, v] as ``cv2.dct`` of the block."""
    return coefficient_planes(grey).transpose(0, 3, 1, 2).reshape(-1, 8, 8)


def dq_periodicities(coefs: np.ndarray) -> np.ndarray:
    """Per row of ``coefs``: strength of the strongest non-zero frequency in its integer histogram."""
    k = coefs.shape[0]
    # values rounded and clipped to [-65, 65]: -65 and 65 collect what lies beyond the histogram's
    # [-64, 64], and are dropped with the zero bin; one bincount does every row's histogram side by side
    c = np.clip(np.rint(coefs), -65, 65).astype(np.intp)
    c += (np.arange(k) * 131 + 65)[:, None]
    return dq_from_histograms(np.bincount(c.ravel(), minlength=k * 131).reshape(k, 131))


@compiled("float64[::1](int64[:, ::1])")
def dq_from_histograms(counts: np.ndarray) -> np.ndarray:
    """``dq_periodicities`` from each row's counts of the rounded values -65 .. 65 (clipped there)."""
    out = np.empty(counts.shape[0])
    for r in range(counts.shape[0]):
        out[r] = _dq_strength(counts[r])
    return out


@compiled()
def _dq_strength(counts):
    """The strongest frequency above the first of the histogram of -64 .. 64 without its zero bin, over the
    sum of all frequencies but the DC term (0 under 32 values): its DFT summed directly over the bins that
    are not empty (a few dozen on most frames), each bin's phase stepped through ``_TWIDDLE``."""
    n = 0
    for j in range(_BINS):
        if j != 64:
            n += counts[j + 1]
    if n < 32:
        return 0.0
    re = np.zeros(_BINS // 2 + 1)
    im = np.zeros(_BINS // 2 + 1)
    for j in range(_BINS):
        c = counts[j + 1]
        if c == 0 or j == 64:
            continue
        k = 0  # (f * j) mod _BINS for frequency f
        for f in range(1, _BINS // 2 + 1):
            k += j
            if k >= _BINS:
                k -= _BINS
            re[f] += c * _TWIDDLE[0, k]
            im[f] += c * _TWIDDLE[1, k]
    total = 0.0
    best = 0.0
    for f in range(1, _BINS // 2 + 1):
        a = np.sqrt(re[f] * re[f] + im[f] * im[f])
        total += a
        if f >= 2 and a > best:
            best = a
    return best / total if total > 0.0 else 0.0


@compiled()
def coefficient_stats(grey: np.ndarray) -> tuple[np.ndarray, float, float, int, np.ndarray]:
    """The block DCT of a grey uint8 frame, band by band (``_band``), reduced as it is made: (AC energy
    per coefficient [k, v], DC energy, sum of the AC energies squared, count of AC coefficients under 0.5
    in magnitude, counts of the rounded (1, 0) and (0, 1) coefficients from -65 to 65, clipped there)."""
    nby, nb = grey.shape[0] // 8, grey.shape[1] // 8
    band, rowwise = np.empty((8, 8, nb), np.float32), np.empty((8, 8, nb), np.float32)
    gathered = np.empty((8, nb), np.float32)
    col = np.zeros((8, 8))
    hist = np.zeros((2, 131), np.int64)
    dc = 0.0
    m4 = 0.0
    small = -nby * nb  # the zeroed DC terms are counted below: start below by their number
    for by in range(nby):
        _band(grey, by, band, rowwise, gathered)
        for bx in range(nb):
            hist[0, int(min(65.0, max(-65.0, np.rint(band[1, 0, bx])))) + 65] += 1
            hist[1, int(min(65.0, max(-65.0, np.rint(band[0, 1, bx])))) + 65] += 1
            dc += band[0, 0, bx] * band[0, 0, bx]
            band[0, 0, bx] = 0.0  # the DC energy apart: it would swamp the AC moments
        for k in range(8):
            for v in range(8):
                c = band[k, v]
                e_sum = np.float32(0.0)
                q = np.float32(0.0)
                z = np.float32(0.0)
                for bx in range(nb):
                    e = c[bx] * c[bx]
                    e_sum += e
                    q += e * e
                    z += np.float32(1.0) if e < np.float32(0.25) else np.float32(0.0)
                col[k, v] += e_sum
                m4 += q
                small += int(z)
    return col, dc, m4, small, hist


def _dq_periodicity(coef: np.ndarray) -> float:
    """``dq_periodicities`` of one coefficient's values."""
    return float(dq_periodicities(np.asarray(coef)[None])[0])


def frame_dct(frame: np.ndarray | FrameMaps) -> np.ndarray:
    return dct_features(maps_of(frame).grey)


@compiled("float64[::1](uint8[:, ::1])")
def dct_features(grey: np.ndarray) -> np.ndarray:
    """``NAMES`` of a grey uint8 frame (NaN under 8x8 pixels), all in one compiled call."""
    out = np.full(_N_NAMES, np.nan)
    if grey.shape[0] < 8 or grey.shape[1] < 8:
        return out
    col, dc_sum, m4_sum, small, hist = coefficient_stats(grey)
    n = (grey.shape[0] // 8) * (grey.shape[1] // 8)  # blocks
    # (0,1) and (1,0) are the lowest AC frequencies: present in every block, quantised coarsely
    per = 0.5 * (_dq_strength(hist[0]) + _dq_strength(hist[1]))
    ac_sum = 0.0  # the DC energy apart: it would swamp the 4th moment
    hf_sum = 0.0
    for k in range(8):
        for v in range(8):
            ac_sum += col[k, v]
            if k + v >= 8:
                hf_sum += col[k, v]
    # AC coefficients have mean ~0: kurtosis from the 2nd and 4th raw moments of all of them
    n_ac = n * 63
    m2, m4 = ac_sum / n_ac, m4_sum / n_ac
    kurt = m4 / (m2 * m2) - 3.0 if m2 > 1e-8 else 0.0
    out[0] = np.log1p(dc_sum / n)
    out[1] = np.log1p(ac_sum / n)
    out[2] = hf_sum / max(ac_sum, 1e-8)
    out[3] = np.log1p(max(kurt, -0.99) + 1.0)
    out[4] = per
    out[5] = small / n_ac
    return out
