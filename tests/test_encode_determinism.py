"""Deterministic encodes across processes: `fvc augment` and `fvc scale` run twice at once, in two
processes pinned to different CPUs, one of them with glibc filling fresh memory with 0xA5
(MALLOC_PERTURB_), must write videos with the same decoded frames.

Different CPU sets catch thread counts taken from the machine (x264's threads=auto sizes its pool
from the process's CPU affinity); the memory fill catches encoders that read bytes nobody wrote
(row padding of frames, x264's AVX-512 paths), which otherwise differ only now and then.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from fvc.video.encode import Encoder, defined_frame
from fvc.video.io import iter_frames
from fvc.workspace import Workspace

N_VIDEOS = 5  # one augmentation each: 5 parameter seeds, plus 10 scaled videos
SIZE = (320, 240)


def _textured_video(path: Path, seed: int, frames: int = 16) -> None:
    """A panning noisy texture: detail and motion at every scale, like camera footage."""
    rng = np.random.default_rng(seed)
    w, h = SIZE
    tex = cv2.resize(rng.integers(0, 256, (h // 4 + 2, w // 4 + frames, 3), dtype=np.uint8), None, fx=4, fy=4,
                     interpolation=cv2.INTER_CUBIC)
    with Encoder(path, 15, w, h, options={"preset": "ultrafast", "crf": "18"}) as enc:
        for i in range(frames):
            img = tex[:h, 3 * i: 3 * i + w].astype(np.int16) + rng.integers(-8, 9, (h, w, 3), dtype=np.int16)
            enc.write(np.clip(img, 0, 255).astype(np.uint8))


def _workspace(root: Path) -> Workspace:
    ws = Workspace(root).ensure()
    rows, splits = [], []
    for i in range(N_VIDEOS):
        _textured_video(root / "raw" / f"v{i}.mp4", seed=i)
        rows.append({"video_id": f"v{i}", "path": f"raw/v{i}.mp4", "error": None})
        splits.append({"video_id": f"v{i}", "cascade_id": f"c{i}", "group_id": f"g{i}", "label": i % 2, "fold": i})
    ws.write("index", pd.DataFrame(rows))
    sp = pd.DataFrame(splits)
    sp["label"] = sp["label"].astype("Int64")
    ws.write("splits", sp)
    # one profile: the full one, every op (resampling, noise, reversal through closed GOPs) in play
    ws.config_path.write_text("augment:\n  profile: full\n  deep_profile: none\n", encoding="utf-8")
    return ws


def _run_pair(cmds: list[list[str]]) -> None:
    """Run two `fvc` commands at once: one pinned to CPU 0, one on every CPU with perturbed malloc."""
    cpus = sorted(os.sched_getaffinity(0))
    setups = [({cpus[0]}, {}), (set(cpus), {"MALLOC_PERTURB_": "165"})]
    procs = []
    for args, (cpu_set, extra_env) in zip(cmds, setups):
        code = (f"import os, sys; os.sched_setaffinity(0, {cpu_set!r}); sys.argv = ['fvc', *{args!r}]; "
                "from fvc.cli import main; main()")
        env = dict(os.environ, CI="true", **extra_env)
        procs.append(subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True))
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err


def _frame_hashes(ws: Workspace, table: str) -> dict[str, list[str]]:
    df = ws.read(table)
    assert df["error"].isna().all(), df["error"].dropna().tolist()
    out = {}
    for vid, path in zip(df["video_id"], df["path"]):
        frames = [hashlib.sha256(f.tobytes()).hexdigest()[:16] for _, f in iter_frames(ws.root / path)]
        out[str(vid)] = frames
    return out


@pytest.fixture(scope="module")
def twin_workspaces(tmp_path_factory):
    root = tmp_path_factory.mktemp("det")
    _workspace(root / "a")
    shutil.copytree(root / "a", root / "b")
    return Workspace(root / "a"), Workspace(root / "b")


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity")
def test_augment_and_scale_give_the_same_frames_in_parallel_processes(twin_workspaces):
    a, b = twin_workspaces
    _run_pair([["augment", "-w", str(ws.root), "--per-video", "1", "--seed", "7"] for ws in (a, b)])
    ha, hb = _frame_hashes(a, "augmented"), _frame_hashes(b, "augmented")
    copies = [v for v in ha if "__aug" in v]
    assert len(copies) == N_VIDEOS
    assert len({tuple(ha[v]) for v in copies}) == N_VIDEOS  # real, different outputs
    assert {v: ha[v] for v in copies} == {v: hb[v] for v in copies}

    _run_pair([["scale", "-w", str(ws.root), "--size", "320"] for ws in (a, b)])
    sa, sb = _frame_hashes(a, "scaled"), _frame_hashes(b, "scaled")
    assert len(sa) == 2 * N_VIDEOS and all(len(f) >= 8 for f in sa.values())
    assert sa == sb


def test_encoder_fixes_threads_and_simd_over_callers_options():
    from fvc.video.encode import deterministic_options

    opts = deterministic_options("libx264", {"preset": "veryfast", "threads": "0", "x264-params": "aq-mode=2"})
    assert opts["preset"] == "veryfast" and opts["threads"] == "1"
    params = opts["x264-params"].split(":")
    assert "aq-mode=2" in params and "threads=1" in params and params[-1].startswith("asm=")
    assert deterministic_options("libx265", {}, gop=30)["x265-params"] == "pools=none:frame-threads=1:keyint=30"


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "rgb24"])
def test_defined_frame_pads_every_row_with_its_last_pixel(pix_fmt):
    yy, xx = np.mgrid[0:6, 0:10]
    rgb = np.stack([40 + xx * 8, 60 + yy * 10, 200 - xx * 6], axis=2).astype(np.uint8)  # smooth: survives 4:2:0
    frame = defined_frame(rgb, pix_fmt)
    if pix_fmt == "rgb24":
        assert np.array_equal(frame.to_ndarray(format="rgb24"), rgb)
    else:  # BT.601 limited-range luma, as FFmpeg converts
        luma = 16 + 219 / 255 * (rgb.astype(float) @ [0.299, 0.587, 0.114])
        assert np.abs(frame.to_ndarray()[:6].astype(float) - luma).max() <= 1
    for plane in frame.planes:
        raw = np.frombuffer(bytes(plane), np.uint8).reshape(-1, plane.line_size)
        used = plane.width * (3 if pix_fmt == "rgb24" else 1)
        if plane.line_size > used:
            bpp = 3 if pix_fmt == "rgb24" else 1
            last = raw[: plane.height, used - bpp: used]
            pad = raw[: plane.height, used:]
            assert np.array_equal(pad[:, : bpp * (pad.shape[1] // bpp)].reshape(plane.height, -1, bpp),
                                  np.broadcast_to(last[:, None, :], (plane.height, pad.shape[1] // bpp, bpp)))
    with pytest.raises(ValueError, match="nv12"):
        defined_frame(rgb, "nv12")

