"""The two compiled passes over a grey frame that the noise, sharpness, blocking and local families share.

``full_pass`` reads the frame and its 3x3 median once, at full resolution:
the 5x5 Gaussian residual's moments, the 3x3 Laplacian's moments, the grey
moments, the steps across and off the 8x8 grid, the median residual's energy
and its 4x4 and 8x8 block sums. ``half_pass`` makes the half-size frame
(2x2 means) and, from its 3x3 Sobel gradients and Laplacian, the gradient
sums and the per-block structure-tensor and Laplacian-energy means. Borders
are OpenCV's default (reflect-101), so the values are the filters' own; sums
of integers (Laplacian, grey, steps, residual block sums) are exact, sums of
their squares within 1e-7 (float32 row sums).
"""

from __future__ import annotations

import cv2
import numpy as np

from .native import compiled

# full_pass's scalars
(GAUSS_R2, GAUSS_R4, LAP_SUM, LAP_SQ, GREY_SUM, GREY_SQ, STEP_X_ALL, STEP_X_ON, STEP_Y_ALL, STEP_Y_ON,
 MEDIAN_SQ) = range(11)
# half_pass's scalars
TENENGRAD, MAGNITUDE, HALF_PIXELS = range(3)
# the 5x5 Gaussian of sigma 1, symmetric: its three distinct float32 taps (frozen into the compiled pass)
_G0, _G1, _G2 = (float(v) for v in cv2.getGaussianKernel(5, 1.0, cv2.CV_32F).ravel()[:3])


@compiled()
def _reflect(p, n):
    """Index ``p`` folded into [0, n) as OpenCV's BORDER_REFLECT_101 does (edge pixel not repeated)."""
    if n == 1:
        return 0
    while p < 0 or p >= n:
        p = -p if p < 0 else 2 * n - 2 - p
    return p


@compiled()
def _padded_row(src, y, pad, out):
    """Row ``y`` of uint8 ``src`` as float32 into ``out`` with ``pad`` reflected pixels on each side."""
    w = src.shape[1]
    for x in range(w):
        out[pad + x] = src[y, x]
    for k in range(1, pad + 1):
        out[pad - k] = src[y, _reflect(-k, w)]
        out[pad + w - 1 + k] = src[y, _reflect(w - 1 + k, w)]


@compiled("Tuple((float64[::1], int32[:, ::1], int32[:, ::1]))(uint8[:, ::1], uint8[:, ::1])")
def full_pass(grey, median):
    """(scalars, 4x4 and 8x8 block sums of |grey - median|) of a grey uint8 frame and its 3x3 median.

    Scalars, by the index constants above: sums over the frame of the Gaussian residual's 2nd and 4th
    powers, of the Laplacian and its square, of grey and its square; the sums of |horizontal step| over
    all column gaps and over those on the 8x8 grid (gap j between columns j and j + 1, j % 8 == 7), the
    same for rows; the sum of the squared median residual. Pixels are float32 (8 to a vector lane
    where integers would take 4): each row's sums of integers are exact (under 2^24), those of squares
    rounded to float32 (relative 1e-7); the block sums are exact.
    """
    h, w = grey.shape
    g0, g1, g2 = np.float32(_G0), np.float32(_G1), np.float32(_G2)
    s = np.zeros(11)
    b4 = np.zeros((h // 4, w // 4), np.int32)
    rows = np.zeros((5, w + 4), np.float32)  # rows as float32, 2 reflected pixels each side: x + 2 is pixel x
    smooth = np.zeros((5, w), np.float32)  # the same rows filtered horizontally by the Gaussian
    tags = np.full(5, -1)  # slot r % 5 holds row r
    med = np.empty(w, np.float32)
    resid = np.zeros(w, np.float32)  # |grey - median| of the current band of 4 rows, per column
    for y in range(h):
        for j in range(5):  # rows y - 2 .. y + 2 (reflected): distinct slots
            r = _reflect(y - 2 + j, h)
            if tags[r % 5] != r:
                p = rows[r % 5]
                _padded_row(grey, r, 2, p)
                dst = smooth[r % 5]
                for x in range(w):
                    dst[x] = g0 * (p[x] + p[x + 4]) + g1 * (p[x + 1] + p[x + 3]) + g2 * p[x + 2]
                tags[r % 5] = r
        up, mid, down = rows[_reflect(y - 1, h) % 5], rows[y % 5], rows[_reflect(y + 1, h) % 5]
        # the Gaussian residual: the vertical pass over the five filtered rows
        sm2, sm1, s0 = smooth[_reflect(y - 2, h) % 5], smooth[_reflect(y - 1, h) % 5], smooth[y % 5]
        sp1, sp2 = smooth[_reflect(y + 1, h) % 5], smooth[_reflect(y + 2, h) % 5]
        r2 = np.float32(0.0)
        r4 = np.float32(0.0)
        for x in range(w):
            d = mid[x + 2] - (g0 * (sm2[x] + sp2[x]) + g1 * (sm1[x] + sp1[x]) + g2 * s0[x])
            d2 = d * d
            r2 += d2
            r4 += d2 * d2
        # the 3x3 Laplacian (OpenCV's ksize=3 aperture: 2 on the corners, -8 in the middle)
        lsum = np.float32(0.0)
        lsq = np.float32(0.0)
        for x in range(w):
            lap = np.float32(2.0) * (up[x + 1] + up[x + 3] + down[x + 1] + down[x + 3]) - np.float32(8.0) * mid[x + 2]
            lsum += lap
            lsq += lap * lap
        gsum = np.float32(0.0)
        gsq = np.float32(0.0)
        for x in range(w):
            gsum += mid[x + 2]
            gsq += mid[x + 2] * mid[x + 2]
        # the median residual: energy, and |residual| per column, summed over 4x4 blocks below
        m = median[y]
        for x in range(w):
            med[x] = m[x]
        msq = np.float32(0.0)
        for x in range(w):
            d = mid[x + 2] - med[x]
            msq += d * d
            resid[x] += abs(d)
        # the steps to the right and downwards
        sx = np.float32(0.0)
        for x in range(w - 1):
            sx += abs(mid[x + 3] - mid[x + 2])
        sx_on = np.float32(0.0)
        for x in range(7, w - 1, 8):
            sx_on += abs(mid[x + 3] - mid[x + 2])
        s[GAUSS_R2] += r2
        s[GAUSS_R4] += r4
        s[LAP_SUM] += lsum
        s[LAP_SQ] += lsq
        s[GREY_SUM] += gsum
        s[GREY_SQ] += gsq
        s[MEDIAN_SQ] += msq
        s[STEP_X_ALL] += sx
        s[STEP_X_ON] += sx_on
        if y + 1 < h:
            sy = np.float32(0.0)
            for x in range(w):
                sy += abs(down[x + 2] - mid[x + 2])
            s[STEP_Y_ALL] += sy
            if y % 8 == 7:
                s[STEP_Y_ON] += sy
        if y % 4 == 3:
            if y // 4 < b4.shape[0]:
                row = b4[y // 4]
                for bx in range(b4.shape[1]):
                    row[bx] = np.int32(resid[4 * bx] + resid[4 * bx + 1] + resid[4 * bx + 2] + resid[4 * bx + 3])
            resid[:] = 0.0
    b8 = np.zeros((h // 8, w // 8), np.int32)
    for by in range(b8.shape[0]):
        for bx in range(b8.shape[1]):
            b8[by, bx] = (b4[2 * by, 2 * bx] + b4[2 * by, 2 * bx + 1] + b4[2 * by + 1, 2 * bx]
                          + b4[2 * by + 1, 2 * bx + 1])
    return s, b4, b8


@compiled("Tuple((float64[::1], float64[:, :, ::1]))(uint8[:, ::1], int64)")
def half_pass(grey, block):
    """(scalars, per-block means of Laplacian^2, gx^2, gy^2 and gx * gy) on the half-size frame.

    The half-size frame is the mean of each 2x2 pixel block (an odd last row or column dropped); gx, gy
    its 3x3 Sobel derivatives, the Laplacian OpenCV's ksize=3 one. Scalars: the sums over the half frame
    of gx^2 + gy^2 and of its square root, and its pixel count; the block maps cover whole ``block`` x
    ``block`` tiles of it.
    """
    h, w = max(1, grey.shape[0] // 2), max(1, grey.shape[1] // 2)
    s = np.zeros(3)
    s[HALF_PIXELS] = h * w
    bh, bw = h // block, w // block
    maps = np.zeros((4, bh, bw))
    ring = np.zeros((3, w + 2), np.float32)  # half rows padded by one reflected pixel, slot r % 3 holds row r
    tags = np.full(3, -1)
    gx = np.empty(w, np.float32)
    gy = np.empty(w, np.float32)
    lap = np.empty(w, np.float32)
    cols = np.zeros((4, w))
    pair = np.empty(2 * w, np.float32)
    two, eight = np.float32(2.0), np.float32(8.0)  # float32 arithmetic: quarter levels, exact in it
    for y in range(h):
        for j in range(3):
            r = _reflect(y - 1 + j, h)
            if tags[r % 3] != r:
                dst = ring[r % 3]
                if grey.shape[0] == 1:
                    a, b = grey[0], grey[0]
                else:
                    a, b = grey[2 * r], grey[2 * r + 1]
                if grey.shape[1] == 1:
                    dst[1] = (np.float32(a[0]) + np.float32(b[0])) * np.float32(0.5)
                else:  # the two rows summed first (contiguous), then each pair of columns: whole numbers, exact
                    for x in range(2 * w):
                        pair[x] = np.float32(a[x]) + np.float32(b[x])
                    for x in range(w):
                        dst[1 + x] = (pair[2 * x] + pair[2 * x + 1]) * np.float32(0.25)
                dst[0] = dst[1 + _reflect(-1, w)]
                dst[w + 1] = dst[1 + _reflect(w, w)]
                tags[r % 3] = r
        up, mid, down = ring[_reflect(y - 1, h) % 3], ring[y % 3], ring[_reflect(y + 1, h) % 3]
        for x in range(w):
            gx[x] = (up[x + 2] - up[x]) + two * (mid[x + 2] - mid[x]) + (down[x + 2] - down[x])
            gy[x] = (down[x] - up[x]) + two * (down[x + 1] - up[x + 1]) + (down[x + 2] - up[x + 2])
            lap[x] = two * (up[x] + up[x + 2] + down[x] + down[x + 2]) - eight * mid[x + 1]
        ten = 0.0
        mag = 0.0
        for x in range(w):
            q = gx[x] * gx[x] + gy[x] * gy[x]
            ten += q
            mag += np.sqrt(q)
        s[TENENGRAD] += ten
        s[MAGNITUDE] += mag
        # the block maps: each column's sums over the rows of a block row, then the block row's tiles (the
        # products are multiples of 1/16 far below 2^53, so these float64 sums are exact in any order)
        if y // block < bh:
            for x in range(bw * block):
                cols[0, x] += lap[x] * lap[x]
                cols[1, x] += gx[x] * gx[x]
                cols[2, x] += gy[x] * gy[x]
                cols[3, x] += gx[x] * gy[x]
            if y % block == block - 1:
                for k in range(4):
                    for bx in range(bw):
                        t = 0.0
                        for x in range(block * bx, block * bx + block):
                            t += cols[k, x]
                        maps[k, y // block, bx] = t
                cols[:] = 0.0
    maps /= block * block
    return s, maps
