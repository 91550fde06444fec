"""Local noise and texture maps: exact map statistics, and planted inpainted / blurred regions move them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

from fvc.features import blockmap, dct, local_noise, local_texture


def _scene(name: str = "camera", size: int = 256, sigma: float = 5.0, seed: int = 0) -> np.ndarray:
    img = getattr(skimage.data, name)()
    img = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA).astype(np.float64)
    rng = np.random.default_rng(seed)
    return np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def test_map_stats_known_values():
    m = np.zeros((10, 10))
    m[2:5, 2:5] = 1.0  # a 3x3 patch in an otherwise flat map
    spread, outliers, autocorr, low = blockmap.map_stats(m)
    assert outliers == pytest.approx(9 / 100)
    assert spread == 0.0 and low == pytest.approx(1.0)
    z = m - m.mean()
    pairs = (z[:, 1:] * z[:, :-1]).sum() + (z[1:] * z[:-1]).sum()
    assert autocorr == pytest.approx(pairs / 180 / (z * z).mean())
    checker = np.indices((8, 8)).sum(0) % 2 * 1.0
    assert blockmap.map_stats(checker)[2] == pytest.approx(-1.0)
    ramp = np.log(np.arange(1, 101, dtype=float)).reshape(10, 10)
    assert blockmap.map_stats(ramp)[3] == pytest.approx(np.exp(np.percentile(ramp, 2) - np.median(ramp)))


def test_noise_map_tracks_the_noise_level():
    flat = np.full((256, 256), 120.0)
    rng = np.random.default_rng(1)
    lo = np.clip(flat + rng.normal(0, 4, flat.shape), 0, 255).astype(np.uint8)
    hi = np.clip(flat + rng.normal(0, 8, flat.shape), 0, 255).astype(np.uint8)
    m_lo, m_hi = local_noise.noise_map(lo), local_noise.noise_map(hi)
    assert m_lo.shape == (8, 8)
    # the level is proportional to sigma: twice the noise, log 2 higher (up to the +0.25 offset)
    assert np.median(m_hi) - np.median(m_lo) == pytest.approx(np.log(2), abs=0.08)
    assert m_lo.std() < 0.05  # uniform noise: a flat map


def _inpaint(grey: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    y0, y1, x0, x1 = box
    mask = np.zeros(grey.shape, np.uint8)
    mask[y0:y1, x0:x1] = 255
    out = grey.copy()
    out[y0:y1, x0:x1] = cv2.inpaint(grey, mask, 3, cv2.INPAINT_TELEA)[y0:y1, x0:x1]
    return out


@pytest.mark.parametrize("name", ["camera", "brick", "moon"])
def test_inpainted_region_moves_the_local_noise_map(name):
    cam = _scene(name)
    edited = _inpaint(cam, (64, 128, 96, 160))
    before = dict(zip(local_noise.NAMES, local_noise.frame_local_noise(cam)))
    after = dict(zip(local_noise.NAMES, local_noise.frame_local_noise(edited)))
    assert after["lnoise_low_tail"] < 0.6 * before["lnoise_low_tail"]
    assert after["lnoise_outlier_share"] > before["lnoise_outlier_share"]


def test_cloned_patch_from_a_cleaner_frame_moves_the_local_noise_map():
    noisy, clean = _scene("camera", sigma=8), _scene("camera", sigma=1)
    cloned = noisy.copy()
    cloned[32:96, 128:192] = clean[150:214, 20:84]  # pasted from another (less noisy) shot of the scene
    before = dict(zip(local_noise.NAMES, local_noise.frame_local_noise(noisy)))
    after = dict(zip(local_noise.NAMES, local_noise.frame_local_noise(cloned)))
    assert after["lnoise_low_tail"] < 0.6 * before["lnoise_low_tail"]
    assert after["lnoise_spread"] > before["lnoise_spread"]


@pytest.mark.parametrize("name", ["brick", "camera"])
def test_blurred_patch_moves_the_local_texture_maps(name):
    sharp = _scene(name, sigma=2)
    edited = sharp.copy()
    edited[64:160, 64:160] = cv2.GaussianBlur(sharp, (0, 0), 2.5)[64:160, 64:160]
    before = dict(zip(local_texture.NAMES, local_texture.frame_local_texture(sharp)))
    after = dict(zip(local_texture.NAMES, local_texture.frame_local_texture(edited)))
    # the Laplacian-to-gradient ratio is the contrast-free blur cue: its low tail falls, the blurred blocks cluster
    assert after["ltex_ratio_low_tail"] < 0.6 * before["ltex_ratio_low_tail"]
    assert after["ltex_ratio_autocorr"] > before["ltex_ratio_autocorr"] + 0.1
    assert after["ltex_ratio_spread"] > before["ltex_ratio_spread"]
    if name == "brick":  # evenly textured: the raw Laplacian energy of the patch stands out too
        assert after["ltex_lap_low_tail"] < 0.2 * before["ltex_lap_low_tail"]
        assert after["ltex_lap_outlier_share"] > before["ltex_lap_outlier_share"] + 0.05


def test_coherence_is_one_for_stripes_and_low_for_noise():
    stripes = (128 + 60 * np.sin(np.arange(256) / 3.0))[None, :].repeat(256, 0).astype(np.uint8)
    noise = np.random.default_rng(3).integers(0, 255, (256, 256)).astype(np.uint8)
    _, _, c_stripes = local_texture.texture_maps(stripes)
    _, _, c_noise = local_texture.texture_maps(noise)
    assert c_stripes.mean() > 0.95 and c_noise.mean() < 0.2


def test_frame_dct_matches_a_per_block_reference():
    """Every DCT statistic against a plain loop over cv2.dct of each 8x8 block (a constant family fails here)."""
    rng = np.random.default_rng(4)
    grey = _scene("coins", 64, sigma=3)
    grey = np.clip(grey + rng.integers(-2, 3, grey.shape), 0, 255).astype(np.uint8)
    blocks = [cv2.dct(grey[y:y + 8, x:x + 8].astype(np.float32) - 128.0) for y in range(0, 64, 8)
              for x in range(0, 64, 8)]
    d = np.stack(blocks).reshape(-1, 64).astype(np.float64)
    e = d * d
    u, v = np.divmod(np.arange(64), 8)
    ac = e[:, 1:]
    m2, m4 = ac.mean(), (ac * ac).mean()
    ref = [np.log1p(e[:, 0].mean()), np.log1p(ac.sum(1).mean()), e[:, (u + v) >= 8].sum() / ac.sum(),
           np.log1p(m4 / m2**2 - 3.0 + 1.0), None, (ac < 0.25).mean()]
    got = dct.frame_dct(grey)
    for name, r, g in zip(dct.NAMES, ref, got):
        if r is not None:
            # integer pixels put some coefficients exactly on the zero threshold (|c| = 0.5): rounding decides
            assert g == pytest.approx(r, rel=1e-3, abs=1e-3 if name == "dct_zero_ratio" else 1e-4), name
    per = 0.5 * (dct._dq_periodicity(d[:, 1]) + dct._dq_periodicity(d[:, 8]))
    assert got[4] == pytest.approx(per, abs=1e-3)
