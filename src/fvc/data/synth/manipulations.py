"""The edits that make a fake, as frame operations with realistic traces.

Each kind leaves the traces a forensic analyst would look for, over the
whole clip, while the picture content stays drawn from the same scenes as
real footage:

- ``splice``: an object from another photograph, pasted with a feathered mask;
  it carries no sensor noise and no motion blur, unlike the footage around it.
- ``timeline``: frame-rate conversion by duplication, bursts of dropped frames,
  a speed ramp, a looped or reversed segment (duplicate frames, motion jumps).
- ``reuse``: old footage re-encoded from a low-resolution or already heavily
  compressed copy (upscaling blur, 8x8 blocking, double quantisation).
- ``cgi``: a noise-free, supersampled rendering of the scene, no hand shake.
- ``overlay``: a caption bar, text and a sticker added in an editor.
- ``inpaint``: an object removed and filled as editors fill it (OpenCV's Telea
  or Navier-Stokes inpainting, or a clone-stamp patch from elsewhere in the
  frame), over a region tracked with the camera; the rest of the frame intact.
- ``speed``: the whole clip or a long stretch of it played at a constant other
  speed, by dropping frames, duplicating them, or blending neighbours.

Everything but ``cgi`` is applied to the decoded camera recording and
encoded again, as an editor would (the double compression is a trace too).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from .scenes import SCENE_IMAGES, load_image
from .seeding import rng_for

MANIPULATIONS = ("splice", "timeline", "reuse", "cgi", "overlay", "inpaint", "speed")
TIMELINE_EDITS = ("dup", "drop", "ramp", "loop", "reverse")
REUSE_EDITS = ("upscale", "recompress")
INPAINT_EDITS = ("telea", "ns", "clone")
SPEED_EDITS = ("fast", "slow", "blend")
CAPTIONS = ("BREAKING NEWS", "SHOCKING FOOTAGE", "WATCH UNTIL THE END", "CAUGHT ON CAMERA", "EXCLUSIVE",
            "YOU WON'T BELIEVE THIS", "LIVE", "MUST SEE", "UNBELIEVABLE", "REAL VIDEO")


@dataclass(frozen=True)
class FakeSpec:
    """Which manipulation a fake gets, with its variant and a seed for its details."""

    kind: str
    variant: str
    seed: int
    scale: float = 1.0  # reuse/upscale: size of the old low-resolution copy
    conform: float = 0.0  # source rate / project rate when the editor conformed the footage (0: same rate)

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.variant}" + ("+conform" if self.conform else "")


def draw_fake(seed: int, key: str, kind: str) -> FakeSpec:
    rng = rng_for(seed, "fake", key)
    if kind == "timeline":
        variant = str(rng.choice(TIMELINE_EDITS))
    elif kind == "reuse":
        variant = str(rng.choice(REUSE_EDITS))
    elif kind == "splice":
        variant = str(rng.choice([n for n in SCENE_IMAGES if n not in ("grass", "gravel", "brick")]))
    elif kind == "overlay":
        variant = str(rng.choice(["caption", "caption+sticker", "ticker"]))
    elif kind == "cgi":
        variant = "render"
    elif kind == "inpaint":
        variant = str(rng.choice(INPAINT_EDITS))
    elif kind == "speed":
        variant = str(rng.choice(SPEED_EDITS))
    else:
        raise ValueError(f"unknown manipulation {kind!r}")
    # Footage shot at another rate than the editor's project (12.5/15 fps phone clips in a 25/30 fps
    # timeline, 50/60 fps in a 30 fps one) is conformed on export: frames duplicated or dropped.
    conform = 0.0
    if kind in ("splice", "overlay", "reuse", "inpaint") and rng.random() < 0.4:
        conform = float(rng.uniform(0.5, 0.8) if rng.random() < 0.6 else rng.uniform(1.3, 1.8))
    return FakeSpec(kind, variant, int(rng.integers(0, 2**62)), float(rng.uniform(0.25, 0.45)), conform)


# ---------------------------------------------------------------- timeline

def timeline_map(fake: FakeSpec, n_out: int) -> np.ndarray:
    """Source frame times (in frames of the output rate) for each output frame.

    Non-integer steps below 1 repeat frames (duplicates); steps above 1 skip
    frames (motion jumps); loops and reversals jump back in time.
    """
    rng = rng_for(fake.seed, "timeline")
    j = np.arange(n_out, dtype=np.float64)
    r = rng.uniform(0.45, 0.65)  # e.g. 12-15 fps footage conformed to 25 fps by duplication

    def conform(times: np.ndarray) -> np.ndarray:
        return np.floor(times * r) / r

    if fake.variant == "dup":
        return conform(j)
    if fake.variant == "drop":
        # stutter, as a screen capture or an overloaded export leaves it: most frames follow on, but now
        # and then a burst of 2-5 frames is lost (a motion jump of 3-6 frames)
        steps = np.where(rng.random(n_out) < 0.25, rng.integers(3, 7, size=n_out), 1).astype(np.float64)
        return np.concatenate([[0.0], np.cumsum(steps[:-1])])
    if fake.variant == "ramp":
        phase = rng.uniform(0, 2 * math.pi)
        speed = 1.1 + 0.9 * np.sin(2 * math.pi * j / max(8.0, n_out / 2.0) + phase)  # 0.2x .. 2x
        return np.floor(np.concatenate([[0.0], np.cumsum(speed[:-1])]))
    seg = max(4, int(rng.integers(max(4, n_out // 6), max(5, n_out // 3))))
    if fake.variant == "loop":
        times = j % seg
    else:  # reverse: forward, then the same segment backwards, repeated (boomerang)
        period = 2 * seg - 2
        k = j % period
        times = np.where(k < seg, k, period - k)
    start = float(rng.integers(0, max(1, n_out // 3)))
    return conform(times) + start


def conform_map(fake: FakeSpec, n_out: int) -> np.ndarray:
    """Source frame times for footage conformed from ``fake.conform`` times the project rate.

    Output frame j shows the latest source frame at or before it: below 1 some
    source frames repeat (duplicates), above 1 some are skipped (jumps).
    """
    r = fake.conform or 1.0
    return np.floor(np.arange(n_out, dtype=np.float64) * r) / r


def speed_map(fake: FakeSpec, n_out: int) -> np.ndarray:
    """Source frame times for a clip played at a constant other speed, whole or over a long stretch.

    ``fast`` (1.5-3x) drops frames, ``slow`` (0.3-0.7x) repeats them; ``blend``
    (0.3-0.7x) keeps the fractional times: the renderer mixes the two
    neighbouring source frames, as an editor's frame blending does.
    """
    rng = rng_for(fake.seed, "speed")
    factor = rng.uniform(1.5, 3.0) if fake.variant == "fast" else rng.uniform(0.3, 0.7)
    steps = np.ones(n_out, dtype=np.float64)
    if rng.random() < 0.5:
        steps[:] = factor
    else:  # a long stretch (half to four fifths of the clip) at the other speed
        length = max(2, int(round(n_out * rng.uniform(0.5, 0.8))))
        start = int(rng.integers(0, max(1, n_out - length + 1)))
        steps[start:start + length] = factor
    times = np.concatenate([[0.0], np.cumsum(steps[:-1])])
    return times if fake.variant == "blend" else np.floor(times)


# ---------------------------------------------------------------- splice

@functools.lru_cache(maxsize=4)
def splice_layer(fake: FakeSpec, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """The pasted object (float RGB, noise-free, sharp) and its feathered alpha mask."""
    rng = rng_for(fake.seed, "splice")
    src = load_image(fake.variant)
    oh = max(8, int(height * rng.uniform(0.55, 0.8)))
    ow = max(8, int(oh * rng.uniform(0.7, 1.4)))
    ow = min(ow, int(width * 0.85))
    sh, sw = src.shape[:2]
    ch = int(sh * rng.uniform(0.3, 0.6))
    cw = min(sw, max(4, int(ch * ow / oh)))
    y0, x0 = int(rng.integers(0, sh - ch + 1)), int(rng.integers(0, sw - cw + 1))
    patch = cv2.resize(src[y0:y0 + ch, x0:x0 + cw], (ow, oh), interpolation=cv2.INTER_AREA)
    # An irregular blob: an ellipse whose radius wobbles with angle.
    yy, xx = np.mgrid[0:oh, 0:ow].astype(np.float32)
    dy, dx = (yy - oh / 2) / (oh / 2), (xx - ow / 2) / (ow / 2)
    ang = np.arctan2(dy, dx)
    wob = 0.85 + sum(rng.uniform(0, 0.06) * np.sin(k * ang + rng.uniform(0, 6.3)) for k in (2, 3, 5))
    mask = (np.sqrt(dx * dx + dy * dy) < wob).astype(np.float32)
    feather = max(1.0, 0.06 * min(oh, ow))
    mask = cv2.GaussianBlur(mask, (0, 0), feather)
    return patch.astype(np.float32), mask


def apply_splice(frame: np.ndarray, fake: FakeSpec, t: int, n_frames: int) -> np.ndarray:
    """Composite the object into one decoded frame; it glides along its own straight path."""
    h, w = frame.shape[:2]
    patch, mask = splice_layer(fake, w, h)
    rng = rng_for(fake.seed, "splice-path")
    start, end = rng.uniform(0.15, 0.85, size=2), rng.uniform(0.15, 0.85, size=2)
    a = t / max(1, n_frames - 1)
    cx, cy = (start + (end - start) * a) * (w, h)
    ph, pw = mask.shape
    x0, y0 = int(round(cx - pw / 2)), int(round(cy - ph / 2))
    fx0, fy0, fx1, fy1 = max(0, x0), max(0, y0), min(w, x0 + pw), min(h, y0 + ph)
    if fx1 <= fx0 or fy1 <= fy0:
        return frame
    out = frame.astype(np.float32) / 255.0
    m = mask[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0, None]
    p = patch[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0]
    region = out[fy0:fy1, fx0:fx1]
    out[fy0:fy1, fx0:fx1] = region * (1 - m) + p * m
    return (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)


# ---------------------------------------------------------------- overlay

def apply_overlay(frame: np.ndarray, fake: FakeSpec, t: int, fps: float) -> np.ndarray:
    """A caption bar with text (and a sticker or a scrolling ticker), drawn noise-free."""
    rng = rng_for(fake.seed, "overlay")
    h, w = frame.shape[:2]
    text = str(rng.choice(CAPTIONS))
    bar_h = max(6, int(h * rng.uniform(0.14, 0.22)))
    top = bool(rng.random() < 0.3)
    y0 = 0 if top else h - bar_h
    colour = np.array([(20, 20, 20), (160, 10, 10), (10, 30, 120)][int(rng.integers(0, 3))], np.float32)
    out = frame.copy()
    bar = out[y0:y0 + bar_h].astype(np.float32)
    out[y0:y0 + bar_h] = (bar * 0.35 + colour * 0.65).astype(np.uint8)
    scale = max(0.3, bar_h / 40)
    thick = max(1, int(round(scale * 1.5)))
    x = int(w * 0.04)
    if fake.variant == "ticker":
        x = int(w - (t * w / (2.5 * fps)) % (w + 10 * bar_h))
    cv2.putText(out, text, (x, y0 + int(bar_h * 0.7)), cv2.FONT_HERSHEY_DUPLEX, scale, (255, 255, 255), thick,
                cv2.LINE_AA)
    if fake.variant == "caption+sticker":
        r = max(4, int(h * 0.09))
        centre = (int(w - 1.6 * r), int(1.6 * r) if not top else int(h - 1.6 * r))
        cv2.circle(out, centre, r, (250, 200, 20), -1, cv2.LINE_AA)
        cv2.putText(out, "!", (centre[0] - r // 4, centre[1] + r // 2), cv2.FONT_HERSHEY_SIMPLEX,
                    max(0.3, r / 14), (200, 0, 0), max(1, r // 6), cv2.LINE_AA)
    return out


# ---------------------------------------------------------------- reuse

def upscale(frame: np.ndarray, width: int, height: int, seed: int) -> np.ndarray:
    """Blow a low-resolution copy back up to the published size."""
    interp = cv2.INTER_LINEAR if seed % 2 else cv2.INTER_CUBIC
    return cv2.resize(frame, (width, height), interpolation=interp)


# ---------------------------------------------------------------- inpaint

@functools.lru_cache(maxsize=4)
def inpaint_region(fake: FakeSpec, width: int, height: int) -> tuple[tuple[float, float], tuple[float, float],
                                                                        tuple[float, float]]:
    """(centre as a fraction of the frame at time 0, radii in pixels, clone source offset in pixels)."""
    rng = rng_for(fake.seed, "inpaint")
    centre = (float(rng.uniform(0.3, 0.7)), float(rng.uniform(0.3, 0.7)))
    radii = (float(width * rng.uniform(0.1, 0.17)), float(height * rng.uniform(0.12, 0.2)))
    # the clone source: beside the region, a sub-pixel distance away (tracked clones are rarely whole pixels)
    ang = rng.uniform(0, 2 * math.pi)
    dist = 2.2 * max(radii) + rng.uniform(0.2, 0.8)
    return centre, radii, (float(dist * math.cos(ang)), float(dist * math.sin(ang)))


def region_mask(fake: FakeSpec, width: int, height: int, pose0, pose) -> np.ndarray:
    """The removed object's mask in one frame: a fixed spot of the scene, followed through the camera's motion.

    ``pose0``/``pose`` are the camera poses (``scenes.camera_pose``) at time 0 and at this frame.
    """
    (u, v), (rx, ry), _ = inpaint_region(fake, width, height)
    tex = _frame_to_scene(pose0, width, height, u * width, v * height)
    cx, cy = _scene_to_frame(pose, width, height, *tex)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r = np.sqrt(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2)
    return (r < 1.0).astype(np.uint8)


def _affine(pose, w: int, h: int) -> np.ndarray:
    """The frame-to-scene map of ``scenes._warp`` (output pixel -> texture pixel)."""
    cx, cy, s, roll = pose
    c, n = math.cos(roll), math.sin(roll)
    return np.array([[s * c, -s * n, cx - s * (c * w / 2 - n * h / 2)],
                     [s * n, s * c, cy - s * (n * w / 2 + c * h / 2)]], dtype=np.float64)


def _frame_to_scene(pose, w: int, h: int, x: float, y: float) -> tuple[float, float]:
    m = _affine(pose, w, h)
    return tuple(m @ np.array([x, y, 1.0]))


def _scene_to_frame(pose, w: int, h: int, X: float, Y: float) -> tuple[float, float]:
    m = _affine(pose, w, h)
    return tuple(np.linalg.solve(m[:, :2], np.array([X, Y]) - m[:, 2]))


def apply_inpaint(frame: np.ndarray, fake: FakeSpec, mask: np.ndarray) -> np.ndarray:
    """Remove what ``mask`` covers from one decoded frame and fill it as the variant's tool does."""
    if not mask.any():
        return frame
    h, w = frame.shape[:2]
    ys, xs = np.nonzero(mask)
    pad = 12
    y0, y1, x0, x1 = max(0, ys.min() - pad), min(h, ys.max() + pad + 1), max(0, xs.min() - pad), min(w, xs.max() + pad + 1)
    out = frame.copy()
    if fake.variant in ("telea", "ns"):
        flag = cv2.INPAINT_TELEA if fake.variant == "telea" else cv2.INPAINT_NS
        radius = max(3, int(round(0.02 * max(h, w))))
        out[y0:y1, x0:x1] = cv2.inpaint(frame[y0:y1, x0:x1], mask[y0:y1, x0:x1], radius, flag)
        return out
    # clone stamp: the frame shifted by the source offset (bilinear: a sub-pixel shift), through a soft brush
    dx, dy = inpaint_region(fake, w, h)[2]
    shift = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])
    src = cv2.warpAffine(frame, shift, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                         borderMode=cv2.BORDER_REFLECT_101)
    brush = cv2.GaussianBlur(cv2.dilate(mask, np.ones((5, 5), np.uint8)).astype(np.float32), (0, 0),
                             max(1.0, 0.01 * max(h, w)))[..., None]
    mixed = frame.astype(np.float32) * (1 - brush) + src.astype(np.float32) * brush
    return (mixed + 0.5).astype(np.uint8)
