"""Making one file of the corpus from its job: render, manipulate, encode.

Fakes other than CGI go through a camera recording first (an intermediate
file), are decoded, edited and encoded again, like footage passing through
an editor. Near-duplicates decode their parent's file and re-encode it.
"""

from __future__ import annotations

from pathlib import Path

from .corpus import VideoJob
from .encode import EncodeSpec, bitrate_for, decode_frames, encode_frames
import numpy as np

from .manipulations import (apply_inpaint, apply_overlay, apply_splice, conform_map, region_mask, speed_map,
                            timeline_map, upscale)
from .scenes import SceneSpec, camera_pose, render_frame
from .seeding import key_int, rng_for


def make_video(job: VideoJob, out_dir: Path, seed: int) -> Path:
    """Write the job's file into ``out_dir`` and return its path."""
    out = Path(out_dir) / job.file_name
    vseed = key_int(seed, "video", job.file_name)
    if job.neardup is not None:
        parent = Path(out_dir) / job.parent
        encode_frames(out, job.neardup.apply(decode_frames(parent)), job.encode, vseed)
        return out
    scene, n = job.scene, job.n_frames
    if job.fake is None:
        encode_frames(out, (render_frame(scene, t) for t in range(n)), job.encode, vseed)
        return out
    fake = job.fake
    if fake.kind == "cgi":
        encode_frames(out, (render_frame(scene, t, cgi=True) for t in range(n)), job.encode, vseed)
        return out
    rng = rng_for(seed, "pass1", job.file_name)
    tmp = Path(out_dir) / f".pass1-{Path(job.file_name).stem}.mp4"
    fps = float(job.encode.fps)
    try:
        if fake.kind == "reuse":
            tmp = _old_copy(tmp, job, rng, vseed)
        else:
            # The forger works from a downloaded copy: already compressed, often smaller.
            times = {"timeline": timeline_map, "speed": speed_map}.get(fake.kind, conform_map)(fake, n)
            src = scene
            if rng.random() < 0.5:
                f = rng.uniform(0.5, 0.75)
                src = scene.with_size(max(16, int(scene.width * f / 2) * 2), max(16, int(scene.height * f / 2) * 2))
            copy = EncodeSpec("mp4", src.width, src.height, job.encode.fps,
                              bitrate_for(src.width, src.height, fps, rng.uniform(0.04, 0.1)),
                              int(round(fps)) * int(rng.integers(1, 3)), fast=True)
            encode_frames(tmp, _source_frames(src, times, blend=(fake.kind, fake.variant) == ("speed", "blend")), copy, vseed)
        w, h = job.encode.width, job.encode.height
        frames = (upscale(f, w, h, fake.seed) if f.shape[:2] != (h, w) else f for f in decode_frames(tmp))
        if fake.kind == "splice":
            frames = (apply_splice(f, fake, t, n) for t, f in enumerate(frames))
        elif fake.kind == "overlay":
            frames = (apply_overlay(f, fake, t, fps) for t, f in enumerate(frames))
        elif fake.kind == "inpaint":
            pose0 = camera_pose(scene, float(times[0]))
            frames = (apply_inpaint(f, fake, region_mask(fake, w, h, pose0, camera_pose(scene, float(times[min(t, n - 1)]))))
                      for t, f in enumerate(frames))  # the removed object stays put in the scene as the camera moves
        encode_frames(out, frames, job.encode, vseed)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _source_frames(scene: SceneSpec, times: np.ndarray, blend: bool):
    """Camera frames at the given times; with ``blend`` a fractional time mixes its two neighbouring frames
    (an editor's frame blending), otherwise the camera is rendered at that very instant."""
    for t in times:
        lo = float(np.floor(t))
        a = float(t) - lo
        if not blend or a < 1e-6:
            yield render_frame(scene, float(t) if not blend else lo)
        else:
            mix = (1 - a) * render_frame(scene, lo).astype(np.float32) + a * render_frame(scene, lo + 1).astype(np.float32)
            yield (mix + 0.5).astype(np.uint8)


def _old_copy(tmp: Path, job: VideoJob, rng, vseed: int) -> Path:
    """Re-used footage: a heavily compressed copy, small (``upscale``) or at full size (``recompress``)."""
    fake, scene = job.fake, job.scene
    if fake.variant == "upscale":
        w = max(16, int(round(scene.width * fake.scale / 2)) * 2)
        h = max(16, int(round(scene.height * fake.scale / 2)) * 2)
        scene = scene.with_size(w, h)
        container, bpp = ("mp4", "avi")[int(rng.integers(0, 2))], rng.uniform(0.04, 0.08)
    else:
        container, bpp = "avi", rng.uniform(0.015, 0.03)  # MPEG-4 part 2: coarse 8x8 DCT blocks
    fps = float(job.encode.fps)
    old = EncodeSpec(container, scene.width, scene.height, job.encode.fps,
                     bitrate_for(scene.width, scene.height, fps, bpp), int(round(fps)) * 2, fast=True)
    tmp_old = tmp.with_suffix(f".{container}")
    encode_frames(tmp_old, (render_frame(scene, float(t)) for t in conform_map(fake, job.n_frames)), old, vseed)
    return tmp_old
