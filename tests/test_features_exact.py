"""Noise, sharpness and block-map features against plain float64 references of their definitions.

The families compute with integer filters, integer block sums and in-place float32 arithmetic
for speed; these references (numpy and OpenCV in float64, written the obvious way) pin the values.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

from fvc.features import blockmap, dct, local_noise, local_texture, noise, sharpness, summary, temporal
from fvc.features.passes import (GREY_SQ, GREY_SUM, LAP_SQ, LAP_SUM, MEDIAN_SQ, STEP_X_ALL, STEP_X_ON,
                                 STEP_Y_ALL, STEP_Y_ON, full_pass)


def _frame(h: int, w: int, seed: int = 0, sigma: float = 6.0) -> np.ndarray:
    img = cv2.resize(skimage.data.camera(), (w, h), interpolation=cv2.INTER_AREA).astype(np.float64)
    rng = np.random.default_rng(seed)
    return np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def _block_means(a: np.ndarray, b: int) -> np.ndarray:
    h, w = (a.shape[0] // b) * b, (a.shape[1] // b) * b
    return a[:h, :w].reshape(h // b, b, w // b, b).mean(axis=(1, 3))


@pytest.mark.parametrize("shape", [(120, 200), (75, 131)])  # the second crops partial blocks
def test_noise_family_matches_its_definition(shape):
    grey = _frame(*shape, seed=1)
    g = grey.astype(np.float64)
    r_med = g - cv2.medianBlur(grey, 3)
    energy = (r_med**2).mean()
    r = g - cv2.GaussianBlur(g, (5, 5), 1.0)
    var, m4 = (r**2).mean(), (r**4).mean()
    b16 = _block_means(np.abs(r_med[: shape[0] // 8 * 8, : shape[1] // 8 * 8]), 16)
    ref = [energy, np.sqrt(var), m4 / var**2 - 3.0, np.sqrt(energy) / (g.std() + 1.0), np.log(b16 + 0.5).std()]
    np.testing.assert_allclose(noise.frame_noise(grey), ref, rtol=1e-4)


@pytest.mark.parametrize("shape", [(120, 200), (75, 131)])
def test_sharpness_family_matches_its_definition(shape):
    grey = _frame(*shape, seed=2)
    g = grey.astype(np.float64)
    lap = cv2.Laplacian(g, cv2.CV_64F, ksize=3)
    # the gradient on the half-size frame (2x2 area means; the odd row or column dropped)
    hh, hw = shape[0] // 2, shape[1] // 2
    half = g[: hh * 2, : hw * 2].reshape(hh, 2, hw, 2).mean(axis=(1, 3))
    mag = np.hypot(cv2.Sobel(half, cv2.CV_64F, 1, 0, ksize=3), cv2.Sobel(half, cv2.CV_64F, 0, 1, ksize=3))
    ref = [np.log1p(lap.var()), mag.mean(), np.log1p((mag**2).mean()), np.log1p(lap.var() / (g.var() + 1.0))]
    np.testing.assert_allclose(sharpness.frame_sharpness(grey), ref, rtol=1e-5)


@pytest.mark.parametrize("shape, block", [((256, 320), 32), ((100, 140), 16), ((30, 200), 16)])  # 8x10, 6x8, 1x12 blocks
def test_local_noise_map_matches_its_definition(shape, block):
    grey = _frame(*shape, seed=3)
    a = np.abs(grey.astype(np.float64) - cv2.medianBlur(grey, 3))
    sub = _block_means(a, block // 4)  # sixteen sub-blocks per block
    bh, bw = sub.shape[0] // 4, sub.shape[1] // 4
    tiles = sub[: bh * 4, : bw * 4].reshape(bh, 4, bw, 4).transpose(0, 2, 1, 3).reshape(bh, bw, 16)
    ref = np.log(np.sort(tiles, axis=2)[..., 4] + 0.25)
    got = local_noise.noise_map(grey)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(local_noise.frame_local_noise(grey), blockmap.map_stats(ref), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("shape", [(256, 320), (100, 140), (30, 90), (20, 40)])  # 8x10, 6x8, 1x5, 1x2 blocks
def test_local_texture_family_matches_its_definition(shape):
    grey = _frame(*shape, seed=9)
    hh, hw = shape[0] // 2, shape[1] // 2
    half = grey[: hh * 2, : hw * 2].astype(np.float64).reshape(hh, 2, hw, 2).mean(axis=(1, 3))
    gx, gy = cv2.Sobel(half, cv2.CV_64F, 1, 0, ksize=3), cv2.Sobel(half, cv2.CV_64F, 0, 1, ksize=3)
    lap = cv2.Laplacian(half, cv2.CV_64F, ksize=3)
    b = blockmap.local_block(shape) // 2
    lap_e, jxx, jyy, jxy = (_block_means(a, b) for a in (lap * lap, gx * gx, gy * gy, gx * gy))
    log_lap = np.log(lap_e + 1.0)
    ratio = log_lap - np.log(jxx + jyy + 1.0)
    coherence = np.sqrt((jxx - jyy) ** 2 + 4.0 * jxy * jxy) / (jxx + jyy + 1.0)
    for got, ref in zip(local_texture.texture_maps(grey), (log_lap, ratio, coherence)):
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12)
    ref = [*blockmap.map_stats(log_lap), *blockmap.map_stats(ratio), coherence.mean(), coherence.std()]
    if coherence.size < 4:
        ref = [np.nan] * len(local_texture.NAMES)
    assert np.isnan(ref).sum() == {(256, 320): 0, (100, 140): 0, (30, 90): 8, (20, 40): 10}[shape]
    np.testing.assert_allclose(local_texture.frame_local_texture(grey), ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("shape", [(41, 57), (2100, 4096)])  # last gaps on the grid; 8.6 M pixels, sums over 2^31
def test_full_pass_sums_of_integers_are_exact(shape):
    rng = np.random.default_rng(4)
    grey = np.full(shape, 255, np.uint8)
    grey[::7, ::3] = rng.integers(0, 256, grey[::7, ::3].shape, dtype=np.uint8)
    grey[::2, 1::2] = 0  # steps of 255 everywhere: the largest Laplacian and step values
    median = cv2.medianBlur(grey, 3)
    s, b4, b8 = full_pass(grey, median)
    g = grey.astype(np.int64)
    lap = cv2.Laplacian(grey, cv2.CV_16S, ksize=3).astype(np.int64)  # OpenCV's own (exact in int16), borders reflected
    res = np.abs(g - median)
    dx, dy = np.abs(np.diff(g, axis=1)), np.abs(np.diff(g, axis=0))
    exact = {LAP_SUM: lap.sum(), GREY_SUM: g.sum(), STEP_X_ALL: dx.sum(), STEP_X_ON: dx[:, 7::8].sum(),
             STEP_Y_ALL: dy.sum(), STEP_Y_ON: dy[7::8].sum()}
    assert {k: int(s[k]) for k in exact} == {k: int(v) for k, v in exact.items()}
    squares = {LAP_SQ: (lap**2).sum(), GREY_SQ: (g**2).sum(), MEDIAN_SQ: (res**2).sum()}  # float32 row sums
    np.testing.assert_allclose([s[k] for k in squares], list(squares.values()), rtol=1e-6)
    np.testing.assert_array_equal(b4, _block_means(res, 4) * 16)
    np.testing.assert_array_equal(b8, _block_means(res, 8) * 64)


def test_map_stats_quantiles_match_numpy():
    m = np.log(np.random.default_rng(5).gamma(2.0, 1.0, (9, 13)))
    q2, q25, med, q75 = np.percentile(m, [2, 25, 50, 75])
    dev = np.abs(m - med)
    spread, outliers, _, low = blockmap.map_stats(m)
    assert spread == pytest.approx((q75 - q25) / 1.349, rel=1e-12)
    assert low == pytest.approx(np.exp(q2 - med), rel=1e-12)
    assert outliers == pytest.approx(np.mean(dev > blockmap.OUTLIER_MADS * 1.4826 * np.median(dev) + 1e-3))


def test_pair_temporal_matches_its_definition():
    rng = np.random.default_rng(6)
    a = rng.uniform(0, 255, (72, 128)).astype(np.float32)
    b = np.clip(a + rng.normal(0, 12, a.shape), 0, 255).astype(np.float32)
    d = (b - a).astype(np.float64)
    h1 = np.histogram(a, 32, (0, 256))[0] / a.size
    h2 = np.histogram(b, 32, (0, 256))[0] / b.size
    ref = [np.abs(d).mean(), d.std(), np.mean(np.abs(d) > 10.0), 0.5 * np.abs(h1 - h2).sum()]
    np.testing.assert_allclose(temporal.pair_temporal(a, b), ref, rtol=1e-5)


def test_pairs_of_a_batch_are_each_pairs_own():
    rng = np.random.default_rng(8)
    frames = [rng.uniform(0, 255, (72, 128)).astype(np.float32) for _ in range(5)]
    pairs = [(frames[k], frames[k + 1]) for k in range(4)]
    pairs.insert(2, (frames[0], frames[1][:40]))  # a size change: no pair statistics
    batch = temporal.pairs_temporal(pairs)
    assert np.isnan(batch[2]).all() and not np.isnan(np.delete(batch, 2, axis=0)).any()
    for k, (a, b) in enumerate(pairs):
        if k != 2:
            d = (b - a).astype(np.float64)
            h1, h2 = np.histogram(a, 32, (0, 256))[0] / a.size, np.histogram(b, 32, (0, 256))[0] / b.size
            ref = [np.abs(d).mean(), d.std(), np.mean(np.abs(d) > 10.0), 0.5 * np.abs(h1 - h2).sum()]
            np.testing.assert_allclose(batch[k], ref, rtol=1e-9)
            np.testing.assert_array_equal(temporal.pair_temporal(a, b), batch[k])  # alone: the same row


def _dq_reference(values: np.ndarray) -> float:
    """Double-quantisation periodicity written the obvious way: the histogram of the non-zero rounded values
    in [-64, 64], its spectrum without the DC term, the strongest frequency above the first over the total."""
    c = np.rint(values.astype(np.float64))
    c = c[(np.abs(c) <= 64) & (c != 0)]
    if c.size < 32:
        return 0.0
    hist = np.array([np.count_nonzero(c == v) for v in range(-64, 65)], dtype=np.float64)
    spec = np.abs(np.fft.rfft(hist - hist.mean()))
    return float(spec[2:].max() / spec[1:].sum()) if spec[1:].sum() > 0 else 0.0


def test_dq_periodicity_matches_its_definition():
    rng = np.random.default_rng(6)
    laplace = rng.laplace(0, 12, 5000)
    once = np.round(laplace / 3) * 3  # quantised with step 3: a comb
    twice = np.round(np.round(laplace / 5) * 5 / 3) * 3  # step 5, then step 3: a comb with periodic gaps
    wide = rng.normal(0, 90, 3000)  # most values beyond [-64, 64]
    few = rng.normal(0, 2, 40)  # about 30 non-zero values: under the 32 the statistic needs
    rows = [laplace, once, twice, wide, few, np.zeros(100)]
    got = [dct.dq_periodicities(r[None].astype(np.float32))[0] for r in rows]
    np.testing.assert_allclose(got, [_dq_reference(r.astype(np.float32)) for r in rows], rtol=1e-9, atol=1e-12)
    # several rows at once give each row's own value
    n = min(r.size for r in rows[:4])
    stacked = dct.dq_periodicities(np.stack([r[:n] for r in rows[:4]]).astype(np.float32))
    np.testing.assert_allclose(stacked, [_dq_reference(r[:n].astype(np.float32)) for r in rows[:4]], rtol=1e-9)


def test_frame_features_do_not_depend_on_where_the_buffers_lie():
    """The same frame at other offsets and heap states gives bit-identical features (no alignment-dependent sums)."""
    from fvc.features.extract import FRAME_NAMES, frame_features

    grey = _frame(240, 320, seed=7)
    ref = frame_features(grey)
    rng = np.random.default_rng(8)
    keep = []
    for _ in range(16):
        keep.append(np.empty(int(rng.integers(1, 5000)), np.uint8))  # moves where the next maps are allocated
        buf = np.empty(grey.size + 64, np.uint8)
        off = int(rng.integers(0, 64))
        moved = buf[off: off + grey.size].reshape(grey.shape)
        moved[...] = grey
        got = frame_features(moved)
        assert [n for n, a, b in zip(FRAME_NAMES, ref, got) if not (a == b or (np.isnan(a) and np.isnan(b)))] == []


def test_small_frames_are_block_means_of_the_luma_plane_at_any_row_stride():
    import av

    from fvc.video.io import frame_to_gray

    grey = _frame(240, 428, seed=9)
    padded = np.zeros((240, 448), np.uint8)
    padded[:, :428] = grey  # a decoder's plane: rows longer than the picture
    ref = grey[:, :426].reshape(80, 3, 142, 3).sum(axis=(1, 3))  # factor 428 // 128 = 3, whole blocks only
    np.testing.assert_array_equal(temporal.small_grey(padded[:, :428]), (ref + 4.5) // 9)  # means, rounded
    # a limited-range decoded frame: expanded to 0-255 after the means, as its grey image is before them
    frame = av.VideoFrame.from_ndarray(np.repeat(grey[..., None], 3, axis=2), format="rgb24").reformat(format="yuv420p")
    small = temporal.small_from_frame(frame)
    # (rounded to a level before the expansion, whose steps are 255 / 219 levels: within one and a half levels)
    np.testing.assert_allclose(small, temporal.small_grey(frame_to_gray(frame)), atol=1.5)
    assert abs(float(small.mean()) - float(grey[:, :426].mean())) < 1.5  # the picture's levels, not 16-235


def test_row_stats_are_numpys_nan_reductions():
    rng = np.random.default_rng(11)
    m = rng.normal(3.0, 2.0, (37, 6))
    m[rng.random(m.shape) < 0.2] = np.nan
    m[:, 4] = np.nan  # a column without a number
    m[1:, 5] = np.nan  # one number
    rows = list(m)
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        ref = np.array([np.nanmean(m, 0), np.nanstd(m, 0), np.nanmin(m, 0), np.nanmax(m, 0)])
    np.testing.assert_allclose(summary.row_stats(rows, 6), ref, rtol=1e-12, atol=1e-15, equal_nan=True)
    assert np.isnan(summary.row_stats([], 3)).all() and summary.row_stats([], 3).shape == (4, 3)
