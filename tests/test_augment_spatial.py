"""Spatial ops: each does what it should and nothing else."""

from __future__ import annotations

import cv2
import numpy as np

from fvc.augment.params import only, sample_params
from fvc.augment.spatial import SpatialAugmenter, cutout, elastic_field, hflip


def smooth_image(h=48, w=64, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = rng.integers(40, 215, size=(h // 4, w // 4, 3), dtype=np.uint8)
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_CUBIC)


def test_flip_twice_is_identity():
    img = smooth_image()
    assert np.array_equal(hflip(hflip(img)), img)
    aug = SpatialAugmenter(only("hflip"), 64, 48)
    once = aug(img)
    assert not np.array_equal(once, img)
    assert np.array_equal(once[:, ::-1], img)
    assert np.array_equal(aug(once), img)


def test_noise_leaves_geometry_alone():
    img = smooth_image()
    out = SpatialAugmenter(only("noise", sigma=6.0, noise_seed=3), 64, 48)(img)
    assert out.shape == img.shape
    diff = out.astype(np.float32) - img.astype(np.float32)
    assert abs(diff.mean()) < 0.5  # no brightness shift
    assert 4.5 < diff.std() < 7.5
    (dx, dy), _ = cv2.phaseCorrelate(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32),
                                     cv2.cvtColor(out, cv2.COLOR_RGB2GRAY).astype(np.float32))
    assert abs(dx) < 0.1 and abs(dy) < 0.1


def test_noise_differs_per_frame_but_is_reproducible():
    img = smooth_image()
    p = only("noise", sigma=5.0, noise_seed=11)
    a, b = SpatialAugmenter(p, 64, 48), SpatialAugmenter(p, 64, 48)
    a1, a2 = a(img), a(img)
    assert not np.array_equal(a1, a2)
    assert np.array_equal(a1, b(img)) and np.array_equal(a2, b(img))


def test_same_params_identical_frames_all_ops():
    frames = [smooth_image(seed=i) for i in range(4)]
    p = sample_params("vid", 1, 42, op_probability=1.0)
    a, b = SpatialAugmenter(p, 64, 48), SpatialAugmenter(p, 64, 48)
    for f in frames:
        assert np.array_equal(a(f), b(f))


def test_translation_moves_content_only():
    img = smooth_image()
    out = SpatialAugmenter(only("affine", translate_x=0.25, translate_y=0.0, scale=1.0, shear_degrees=0.0), 64, 48)(img)
    assert np.array_equal(out[:, 16:], img[:, :48])


def test_rotation_keeps_centre_and_size():
    img = np.zeros((49, 65, 3), np.uint8)
    img[24, 32] = 255
    out = SpatialAugmenter(only("rotate", degrees=10.0), 65, 49)(img)
    assert out.shape == img.shape
    assert np.unravel_index(out[..., 0].argmax(), out.shape[:2]) == (24, 32)


def test_color_brightness_only():
    img = smooth_image()
    out = SpatialAugmenter(only("color", brightness=0.1, contrast=1.0, saturation=1.0), 64, 48)(img)
    expected = np.clip(img.astype(int) + 26, 0, 255)  # 0.1 * 255 = 25.5 rounds half to even per value
    assert np.abs(out.astype(int) - expected).max() <= 1


def test_saturation_zero_gives_grey():
    img = smooth_image()
    out = SpatialAugmenter(only("color", brightness=0.0, contrast=1.0, saturation=0.0), 64, 48)(img)
    assert np.abs(out[..., 0].astype(int) - out[..., 1]).max() <= 1


def test_cutout_fills_only_the_hole():
    img = smooth_image()
    out = cutout(img, [{"cx": 0.5, "cy": 0.5, "w": 0.25, "h": 0.25}])
    assert (out[18:30, 24:40] == 0).all()
    mask = np.ones(img.shape[:2], bool)
    mask[18:30, 24:40] = False
    assert np.array_equal(out[mask], img[mask])


def test_elastic_field_bounded_and_seeded():
    dx, dy = elastic_field(64, 48, alpha=0.03, sigma=0.08, field_seed=5)
    assert dx.shape == (48, 64) and dy.shape == (48, 64)
    assert np.abs(dx).max() <= 0.03 * 48 + 1e-4 and np.abs(dx).max() > 0
    assert np.array_equal(dx, elastic_field(64, 48, 0.03, 0.08, 5)[0])
    out = SpatialAugmenter(only("elastic", alpha=0.03, sigma=0.08, field_seed=5), 64, 48)(smooth_image())
    assert out.shape == (48, 64, 3)


def test_blur_smooths():
    img = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    out = SpatialAugmenter(only("blur", sigma=1.5), 64, 48)(img)
    assert out.std() < img.std() * 0.7
    assert abs(float(out.mean()) - float(img.mean())) < 2
