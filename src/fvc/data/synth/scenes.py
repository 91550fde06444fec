"""Camera footage from still photographs: a virtual hand-held camera over an image.

The photographs shipped with scikit-image (no download) are the scenes, as
textures whose fine detail is equalised (``scene_texture``): the smoothest
and the busiest photograph would otherwise differ more in noise and sharpness
statistics than a manipulation changes them. The camera samples a texture at
about its own resolution, so footage of every size is about equally sharp. A
frame is a pure function of (scene, frame index), so any frame can be
rendered on its own, in any order, by any worker, and always comes out equal.
Camera traits that forensic features look at are modelled explicitly:
sensor noise (signal dependent), motion blur along the camera's motion,
hand shake, optical low-pass. A CGI render of the same scene drops all of them.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace

import cv2
import numpy as np
import skimage.data

from .seeding import key_int, rng_for

# Scenes: colour photographs plus a few grey ones (tinted, like old or CCTV footage).
COLOR_IMAGES = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry",
                "motorcycle", "retina")
GRAY_IMAGES = ("camera", "coins", "moon", "grass", "gravel", "brick", "clock")
SCENE_IMAGES = COLOR_IMAGES + GRAY_IMAGES

TEXTURE_WIDTH = 1024  # widest scene texture: photographs are upsampled to it with synthetic fine detail
# Local RMS of each detail band every texture is equalised to (fraction of full scale): the photographs
# differ wildly in fine detail (moon vs gravel), which would otherwise swamp the traces of manipulations.
DETAIL_BANDS = ((1.0, 0.022), (3.0, 0.035))  # (Gaussian sigma of the band's upper edge in px, target RMS)
DETAIL_GAMMA = 0.85  # 1: every region gets exactly the target; 0: untouched


@functools.lru_cache(maxsize=None)
def load_image(name: str) -> np.ndarray:
    """A scene photograph as float32 RGB in [0, 1] (cached per process)."""
    if name == "motorcycle":
        img = skimage.data.stereo_motorcycle()[0]
    else:
        img = getattr(skimage.data, name)()
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    img = img[:, :, :3].astype(np.float32)
    if img.max() > 1.5:
        img /= 255.0
    return np.ascontiguousarray(img)


@dataclass(frozen=True)
class SceneSpec:
    """Everything needed to render one clip of camera footage."""

    seed: int
    image: str
    width: int
    height: int
    n_frames: int
    crop: tuple[float, float, float]  # centre x, centre y (fractions), view width (fraction of texture width)
    hflip: bool
    tint: tuple[float, float, float]  # white balance / colourisation gains
    gain: float  # exposure
    pan: tuple[float, float]  # view widths per second
    zoom: float  # relative zoom change over the clip
    fps: float
    shake: float  # hand-shake amplitude, fraction of view width
    roll: float  # hand-shake rotation amplitude, degrees
    noise: float  # sensor noise sigma at mid-grey, 8-bit units
    exposure: float  # shutter time as a fraction of the frame interval (motion blur)
    osd: bool  # camera burns a timestamp into the picture
    texture: int = TEXTURE_WIDTH  # width of the scene texture the camera films (see ``scene_texture``)

    def with_size(self, width: int, height: int) -> "SceneSpec":
        return replace(self, width=int(width), height=int(height))


def draw_scene(seed: int, key: str, width: int, height: int, n_frames: int, fps: float,
               image: str | None = None, region: tuple[float, float, bool] | None = None,
               texture: int = TEXTURE_WIDTH) -> SceneSpec:
    """Draw a random scene and camera; the same (seed, key) always gives the same scene.

    ``region`` (centre x, centre y, mirrored) pins where in the photograph the
    camera looks: cascades sharing a photograph get disjoint regions, so no
    two cascades show the same footage.
    """
    rng = rng_for(seed, "scene", key)
    name = image or str(rng.choice(SCENE_IMAGES))
    grey = name in GRAY_IMAGES
    if grey:
        base = np.array([[1.0, 1.0, 1.0], [1.08, 1.0, 0.85], [0.9, 1.0, 1.08]])[rng.integers(0, 3)]
    else:
        base = np.ones(3)
    tint = tuple(float(x) for x in base * rng.uniform(0.93, 1.07, size=3))
    speed = rng.uniform(0.0, 0.12)
    # The camera samples the scene at about the texture's own resolution (0.8-1.25 texture pixels per
    # output pixel), so footage of every size is about equally sharp, as a camera's would be.
    view = float(np.clip(width * rng.uniform(0.8, 1.25) / texture, 0.12, 0.9))
    angle = rng.uniform(0, 2 * math.pi)
    return SceneSpec(
        seed=int(rng.integers(0, 2**62)),
        image=name,
        width=int(width),
        height=int(height),
        n_frames=int(n_frames),
        crop=(float(rng.uniform(0.35, 0.65)), float(rng.uniform(0.35, 0.65)), view)
        if region is None else (float(region[0]), float(region[1]), view),
        hflip=bool(rng.random() < 0.5) if region is None else bool(region[2]),
        tint=tint,
        gain=float(rng.uniform(0.85, 1.15)),
        pan=(float(speed * math.cos(angle)), float(speed * math.sin(angle))),
        zoom=float(rng.uniform(-0.25, 0.25)),
        fps=float(fps),
        shake=float(rng.uniform(0.002, 0.012)),
        roll=float(rng.uniform(0.0, 0.8)),
        noise=float(rng.uniform(3.5, 7.0)),
        exposure=float(rng.uniform(0.3, 1.0)),
        osd=bool(rng.random() < 0.2),
        texture=int(texture),
    )


def texture_width(max_output_width: int) -> int:
    """Texture width for footage up to ``max_output_width``: twice that, within [256, TEXTURE_WIDTH]."""
    return int(np.clip(2 * max_output_width, 256, TEXTURE_WIDTH))


@functools.lru_cache(maxsize=None)
def texture_shape(name: str, width: int = TEXTURE_WIDTH) -> tuple[int, int]:
    """(height, width) of a scene's texture of the given width."""
    h, w = load_image(name).shape[:2]
    return max(1, int(round(h * width / w))), int(width)


def _luma(img: np.ndarray) -> np.ndarray:
    return img @ np.array([0.299, 0.587, 0.114], np.float32)


def _local_mean(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-weighted local mean, computed at a quarter of the resolution (it is smooth anyway)."""
    h, w = x.shape[:2]
    small = cv2.resize(x, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    return cv2.resize(cv2.GaussianBlur(small, (0, 0), sigma / 4), (w, h), interpolation=cv2.INTER_LINEAR)


@functools.lru_cache(maxsize=None)  # one per photograph (and width): up to ~12 MB each
def scene_texture(name: str, width: int = TEXTURE_WIDTH) -> np.ndarray:
    """The photograph as a scene ``width`` pixels wide, its detail bands equalised.

    Each band (fine, medium) of the luminance detail is scaled towards one
    local RMS shared by all scenes, and where a band is missing (upsampled
    photographs have no fine band) band-limited texture fills it, fixed to
    the scene like surface grain. Colour and large-scale structure stay the
    photograph's own.
    """
    img = load_image(name)
    h, w = texture_shape(name, width)
    if w != img.shape[1]:
        up = w > img.shape[1]
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_CUBIC if up else cv2.INTER_AREA)
    img = np.clip(img, 0.0, 1.0)
    cv2.setRNGSeed(key_int(0, "texture", name) % 2**31)
    out = img.copy()
    rest = img
    for sigma, target in DETAIL_BANDS:
        smooth = cv2.GaussianBlur(rest, (0, 0), sigma)
        band = rest - smooth  # detail finer than sigma (and coarser than the previous band)
        rest = smooth
        lum = _luma(band)
        rms = np.sqrt(_local_mean(lum * lum, 8.0 * sigma)) + 1e-4
        gain = np.clip((target / rms) ** DETAIL_GAMMA, 0.25, 4.0)
        scaled = lum * gain
        # where even the boosted band stays below the target, add grain of the same scale
        grain = np.empty_like(lum)
        cv2.randn(grain, 0.0, 1.0)
        grain = cv2.GaussianBlur(grain, (0, 0), 0.5 * sigma) - cv2.GaussianBlur(grain, (0, 0), 1.5 * sigma)
        grain /= float(grain.std()) + 1e-6
        missing = np.sqrt(np.clip(target**2 - _local_mean(scaled * scaled, 8.0 * sigma), 0, None))
        out += (scaled + grain * missing - lum)[:, :, None]
    return np.ascontiguousarray(np.clip(out, 0.0, 1.0), dtype=np.float32)


@functools.lru_cache(maxsize=8)
def _texture(name: str, width: int, hflip: bool, tint: tuple[float, float, float], gain: float, prefilter: float,
             cgi: bool) -> np.ndarray:
    img = scene_texture(name, width)
    if hflip:
        img = img[:, ::-1]
    img = np.clip(img * np.asarray(tint, np.float32) * gain, 0.0, 1.0)
    if cgi:
        # A rendered material: flat shading, crisp edges, no photographic grain.
        img = cv2.bilateralFilter(np.ascontiguousarray(img), 9, 0.12, 5)
    if prefilter > 0.6:
        img = cv2.GaussianBlur(img, (0, 0), 0.5 * prefilter)
    return np.ascontiguousarray(img, dtype=np.float32)


def _shake(spec: SceneSpec, t: float) -> tuple[float, float, float]:
    """Hand shake: a few incommensurate sinusoids, a smooth function of time."""
    r = rng_for(spec.seed, "shake")
    freqs = r.uniform(0.8, 7.0, size=(3, 3))
    phases = r.uniform(0, 2 * math.pi, size=(3, 3))
    s = np.sin(2 * math.pi * freqs * t + phases).sum(axis=1) / 3.0
    return float(s[0]), float(s[1]), float(s[2])


def camera_pose(spec: SceneSpec, t: float, shake: bool = True) -> tuple[float, float, float, float]:
    """(centre x, centre y, source pixels per output pixel, roll radians) at frame time t (frames)."""
    h, w = texture_shape(spec.image, spec.texture)
    secs = t / spec.fps
    view_w = spec.crop[2] * w * (1.0 + spec.zoom * t / max(1, spec.n_frames))
    cx = spec.crop[0] * w + spec.pan[0] * view_w * secs
    cy = spec.crop[1] * h + spec.pan[1] * view_w * secs
    roll = 0.0
    if shake:
        sx, sy, sr = _shake(spec, secs)
        cx += sx * spec.shake * view_w
        cy += sy * spec.shake * view_w
        roll = math.radians(sr * spec.roll)
    return cx, cy, view_w / spec.width, roll


def _warp(texture: np.ndarray, spec: SceneSpec, pose, out_w: int, out_h: int, scale: float = 1.0) -> np.ndarray:
    cx, cy, s, roll = pose
    s = s / scale
    c, n = math.cos(roll), math.sin(roll)
    m = np.array([
        [s * c, -s * n, cx - s * (c * out_w / 2 - n * out_h / 2)],
        [s * n, s * c, cy - s * (n * out_w / 2 + c * out_h / 2)],
    ], dtype=np.float64)
    return cv2.warpAffine(texture, m, (out_w, out_h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT_101)


def _motion_kernel(dx: float, dy: float) -> np.ndarray | None:
    length = math.hypot(dx, dy)
    if length < 1.0:
        return None
    size = int(math.ceil(length)) | 1
    k = np.zeros((size, size), np.float32)
    c = size // 2
    cv2.line(k, (int(round(c - dx / 2)), int(round(c - dy / 2))), (int(round(c + dx / 2)), int(round(c + dy / 2))),
             1.0, 1, lineType=cv2.LINE_AA)
    return k / k.sum()


def draw_osd(frame: np.ndarray, spec: SceneSpec, t: int) -> None:
    """A camera timestamp burned into the picture (in place, uint8 RGB)."""
    h = frame.shape[0]
    secs = int(t / spec.fps)
    text = f"2017-0{1 + spec.seed % 9}-1{spec.seed % 10} 1{spec.seed % 10}:0{secs // 60 % 10}:{secs % 60:02d}"
    scale = max(0.25, h / 600)
    cv2.putText(frame, text, (max(2, h // 40), max(8, h // 14)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (235, 235, 200), 1, cv2.LINE_AA)


def render_frame(spec: SceneSpec, t: float, cgi: bool = False) -> np.ndarray:
    """Frame at time t (in frames; fractional allowed) as HxWx3 uint8.

    Camera footage: shake, motion blur, signal-dependent sensor noise.
    CGI (``cgi=True``): smooth path, supersampled, noise-free, no blur.
    """
    w, h = spec.width, spec.height
    pose = camera_pose(spec, t, shake=not cgi)
    if cgi:
        tex = _texture(spec.image, spec.texture, spec.hflip, spec.tint, spec.gain, 0.0, True)
        big = _warp(tex, spec, pose, 2 * w, 2 * h, scale=2.0)
        img = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)
        return (np.clip(img, 0, 1) * 255.0 + 0.5).astype(np.uint8)
    tex = _texture(spec.image, spec.texture, spec.hflip, spec.tint, spec.gain, round(pose[2], 1), False)
    img = _warp(tex, spec, pose, w, h)
    nxt = camera_pose(spec, t + spec.exposure, shake=True)
    kernel = _motion_kernel((pose[0] - nxt[0]) / pose[2], (pose[1] - nxt[1]) / pose[2])
    if kernel is not None:
        img = cv2.filter2D(img, -1, kernel, borderType=cv2.BORDER_REFLECT_101)
    sigma = spec.noise / 255.0
    std = np.sqrt(np.maximum(img, 0.0) * (2 * sigma * sigma) + 0.25 * sigma * sigma)
    # OpenCV's Gaussian generator: 3x faster than numpy's, and as reproducible (seeded per frame;
    # its state is per thread)
    noise = np.empty_like(img)
    cv2.setRNGSeed(key_int(spec.seed, "noise", round(float(t), 4)) % 2**31)
    cv2.randn(noise.reshape(h, -1), 0.0, 1.0)
    img += std * noise
    out = (np.clip(img, 0, 1) * 255.0 + 0.5).astype(np.uint8)
    if spec.osd:
        draw_osd(out, spec, int(t))
    return out
