"""Spatial augmentations with OpenCV/NumPy, parameters fixed for a whole video.

All geometric ops (flip, rotation, affine, elastic) are composed once per
video into a single pair of ``cv2.remap`` maps, so each frame is resampled
once (one interpolation, not four) and the per-frame cost does not depend on
how many geometric ops are on. Photometric ops use LUTs and cv2 arithmetic.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from .params import enabled

BORDER = cv2.BORDER_REFLECT_101  # no black wedges: a cue a detector could learn


# -- single ops (pure functions, each tested on its own) ------------------------------
def hflip(img: np.ndarray) -> np.ndarray:
    return cv2.flip(img, 1)


def geometry_matrix(width: int, height: int, params: dict[str, Any]) -> np.ndarray:
    """3x3 forward matrix (input pixel -> output pixel) of flip, rotation and affine ops.

    Order: flip, then rotation, then shear/scale, then translation, all about
    the image centre.
    """
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    m = np.eye(3)
    if enabled(params, "hflip"):
        m = np.array([[-1.0, 0, 0], [0, 1, 0], [0, 0, 1]]) @ m
    rot = enabled(params, "rotate")
    if rot:
        a = math.radians(rot["degrees"])
        m = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]]) @ m
    aff = enabled(params, "affine")
    if aff:
        sh = math.tan(math.radians(aff["shear_degrees"]))
        s = aff["scale"]
        m = np.array([[s, s * sh, 0], [0, s, 0], [0, 0, 1]]) @ m
        m = np.array([[1, 0, aff["translate_x"] * width], [0, 1, aff["translate_y"] * height], [0, 0, 1]]) @ m
    to_c = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1]])
    from_c = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]])
    return to_c @ m @ from_c


def elastic_field(width: int, height: int, alpha: float, sigma: float, field_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Smooth random displacement field (dx, dy) in pixels, fixed for the video.

    Drawn at 1/8 resolution and smoothed there (cheap at 1080p), then
    upsampled; ``alpha`` and ``sigma`` are fractions of the short side so the
    effect looks the same at any resolution.
    """
    short = min(width, height)
    gw, gh = max(2, math.ceil(width / 8)), max(2, math.ceil(height / 8))
    rng = np.random.default_rng(field_seed)
    out = []
    for _ in range(2):
        d = rng.uniform(-1.0, 1.0, size=(gh, gw)).astype(np.float32)
        d = cv2.GaussianBlur(d, (0, 0), max(0.5, sigma * short / 8.0), borderType=cv2.BORDER_REFLECT_101)
        peak = float(np.abs(d).max()) or 1.0
        d = cv2.resize(d / peak, (width, height), interpolation=cv2.INTER_LINEAR)
        out.append(d * (alpha * short))
    return out[0], out[1]


def remap_maps(width: int, height: int, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """Fixed-point remap maps for all geometric ops, or None when none is on."""
    if not any(enabled(params, op) for op in ("hflip", "rotate", "affine", "elastic")):
        return None
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    el = enabled(params, "elastic")
    if el:
        dx, dy = elastic_field(width, height, el["alpha"], el["sigma"], el["field_seed"])
        xs, ys = xs + dx, ys + dy
    inv = np.linalg.inv(geometry_matrix(width, height, params)).astype(np.float32)
    mx = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
    my = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
    return cv2.convertMaps(mx, my, cv2.CV_16SC2)


def color_lut(brightness: float, contrast: float) -> np.ndarray:
    """uint8 LUT for contrast around mid-grey then an added brightness."""
    v = np.arange(256, dtype=np.float32)
    v = (v - 127.5) * contrast + 127.5 + brightness * 255.0
    return np.clip(np.rint(v), 0, 255).astype(np.uint8)


def saturation_matrix(factor: float) -> np.ndarray:
    """3x3 RGB matrix blending each pixel with its grey (BT.601 luma, as cv2's RGB2GRAY):
    factor 0 = grey, 1 = unchanged, >1 = more saturated."""
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    return (factor * np.eye(3, dtype=np.float32) + (1.0 - factor) * np.tile(luma, (3, 1))).astype(np.float32)


def cutout(img: np.ndarray, holes: list[dict[str, float]], fill: int = 0, inplace: bool = False) -> np.ndarray:
    """Fill rectangles given as centre and size fractions (on a copy unless ``inplace``)."""
    out = img if inplace else img.copy()
    h, w = img.shape[:2]
    for hole in holes:
        hw, hh = max(1, int(round(hole["w"] * w))), max(1, int(round(hole["h"] * h)))
        x0 = int(round(hole["cx"] * w - hw / 2))
        y0 = int(round(hole["cy"] * h - hh / 2))
        out[max(0, y0) : max(0, y0 + hh), max(0, x0) : max(0, x0 + hw)] = fill
    return out


class GaussianNoise:
    """Gaussian noise with a fixed sigma: one field per video, shifted per frame.

    Drawing 6M Gaussian values per 1080p frame costs more than every other op
    together, so the field is drawn once (cv2.randn, a little larger than the
    frame) and each frame adds it at a random offset: every frame gets
    different noise at the cost of one saturating add. Reproducible from
    ``noise_seed``.
    """

    MARGIN = 32

    def __init__(self, sigma: float, noise_seed: int, shape: tuple[int, ...]):
        h, w = shape[:2]
        self.h, self.w = h, w
        self.field = np.empty((h + self.MARGIN, w + self.MARGIN, 3), np.int16)
        cv2.setRNGSeed(int(noise_seed))
        # one channel view: with a 3-channel array a scalar sigma only fills channel 0
        cv2.randn(self.field.reshape(self.field.shape[0], -1), 0.0, float(sigma))
        self.offsets = np.random.default_rng(int(noise_seed))

    def __call__(self, img: np.ndarray, inplace: bool = False) -> np.ndarray:
        dy, dx = (int(v) for v in self.offsets.integers(0, self.MARGIN + 1, size=2))
        noise = self.field[dy : dy + self.h, dx : dx + self.w]
        return cv2.add(img, noise, dst=img if inplace else None, dtype=cv2.CV_8U)


class SpatialAugmenter:
    """Apply the spatial ops of ``params`` to every frame of one video.

    The caller's frame is never modified; after the first op makes a new
    array, later ops work in place on it (fewer full-size frames alive).
    """

    def __init__(self, params: dict[str, Any], width: int, height: int):
        self.params = params
        self.width, self.height = width, height
        self.flip_only = bool(enabled(params, "hflip")) and not any(
            enabled(params, op) for op in ("rotate", "affine", "elastic")
        )
        self.maps = None if self.flip_only else remap_maps(width, height, params)
        col = enabled(params, "color")
        self.lut = color_lut(col["brightness"], col["contrast"]) if col else None
        self.saturation = col["saturation"] if col and abs(col["saturation"] - 1.0) > 1e-6 else None
        self.saturation_matrix = saturation_matrix(self.saturation) if self.saturation is not None else None
        blur = enabled(params, "blur")
        self.blur_sigma = blur["sigma"] if blur else None
        noise = enabled(params, "noise")
        self.noise = GaussianNoise(noise["sigma"], noise["noise_seed"], (height, width, 3)) if noise else None
        self.cutout = enabled(params, "cutout")

    def __call__(self, img: np.ndarray) -> np.ndarray:
        if img.shape[:2] != (self.height, self.width):
            raise ValueError(f"frame is {img.shape[1]}x{img.shape[0]}, expected {self.width}x{self.height}")
        owned = False
        if self.flip_only:
            img, owned = hflip(img), True
        elif self.maps is not None:
            img, owned = cv2.remap(img, self.maps[0], self.maps[1], cv2.INTER_LINEAR, borderMode=BORDER), True
        if self.lut is not None:
            img, owned = cv2.LUT(img, self.lut, dst=img if owned else None), True
        if self.saturation is not None:  # one 3x3 colour transform, no grey image
            img, owned = cv2.transform(img, self.saturation_matrix, dst=img if owned else None), True
        if self.blur_sigma is not None:
            img, owned = cv2.GaussianBlur(img, (0, 0), self.blur_sigma, dst=img if owned else None,
                                          borderType=cv2.BORDER_REFLECT_101), True
        if self.noise is not None:
            img, owned = self.noise(img, inplace=owned), True
        if self.cutout:
            img = cutout(img if owned else img.copy(), self.cutout["holes"], int(self.cutout.get("fill", 0)), inplace=True)
        return img
