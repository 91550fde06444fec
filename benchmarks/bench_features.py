"""Stage-2 feature benchmark: throughput, cost relative to plain decoding, peak memory.

  python benchmarks/bench_features.py [--videos 12] [--workspace WS] [--skip-memory]

1. Throughput (videos/s, sampled frames/s) of ``video_features`` on a generated
   corpus, or on the readable videos of an existing workspace's index.
2. Ratio of feature time to the time PyAV takes to decode the same sampled
   frames (``iter_frames`` on the same indices, grey output). Target <= 2.0x.
3. Peak RSS of ``fvc features`` (a child process) on a generated 1080p 60 s
   video, written streamed at a low bitrate. Target <= 400 MB.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from fvc.config import FvcConfig
from fvc.data.index import build_index, probe_video
from fvc.features.extract import video_features
from fvc.video.io import VideoWriter, iter_frames, sample_indices
from fvc.workspace import Workspace


def _scene(rng, h, w):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = 120 + 60 * np.sin(xx / (8 + 20 * rng.random())) * np.cos(yy / (8 + 20 * rng.random()))
    return np.repeat(base[..., None], 3, axis=2)


def make_corpus(root: Path, n: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        w, h = [(640, 360), (480, 270), (854, 480)][i % 3]
        scene = _scene(rng, h, w)
        p = root / f"b{i}.mp4"
        with VideoWriter(p, 25, w, h, options={"preset": "veryfast"}) as vw:
            for t in range(100):
                frame = np.roll(scene, 2 * t, axis=1) + rng.normal(0, 4, scene.shape)
                vw.write(np.clip(frame, 0, 255).astype(np.uint8))
        paths.append(p)
    return paths


def throughput(paths: list[Path], probes: list[dict]) -> None:
    fcfg = FvcConfig().features
    t_feat = t_dec = 0.0
    frames = 0
    for p, pr in zip(paths, probes):
        idx = sample_indices(int(pr["frame_count"]), fcfg.sample_fraction, fcfg.min_frames, fcfg.max_frames)
        t0 = time.perf_counter()
        for _ in iter_frames(p, idx, fmt="gray"):
            pass
        t_dec += time.perf_counter() - t0
        t0 = time.perf_counter()
        f = video_features(p, pr, fcfg)
        t_feat += time.perf_counter() - t0
        frames += f["n_frames_sampled"]
    print(f"videos: {len(paths)}, sampled frames: {frames}")
    print(f"stage-2 throughput: {len(paths) / t_feat:.2f} videos/s, {frames / t_feat:.1f} sampled frames/s "
          f"({t_feat:.2f} s)")
    print(f"plain PyAV decode of the same frames: {t_dec:.2f} s")
    print(f"feature time / decode time: {t_feat / t_dec:.2f}x (target <= 2.0x)")


def peak_memory(tmp: Path) -> None:
    ws = Workspace(tmp / "memws").ensure()
    path = ws.root / "raw" / "hd.mp4"
    t0 = time.perf_counter()
    rng = np.random.default_rng(1)
    scene = np.clip(_scene(rng, 1080, 1920), 0, 255).astype(np.uint8)
    with VideoWriter(path, 25, 1920, 1080, bit_rate=800_000, options={"preset": "ultrafast"}) as vw:
        for t in range(60 * 25):
            vw.write(np.roll(scene, 4 * t, axis=1))
    print(f"generated 1080p 60 s video ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.0f} s")
    videos = pd.DataFrame([{"video_id": "hd", "path": "raw/hd.mp4", "cascade_id": "c0", "label": 1}])
    videos["label"] = videos["label"].astype("Int64")
    ws.write("index", build_index(videos, ws.root, workers=1))
    ws.write("splits", pd.DataFrame({"video_id": ["hd"], "cascade_id": ["c0"], "group_id": ["c0"],
                                     "label": pd.array([1], dtype="Int64"), "fold": [0]}))
    fvc = Path(sys.executable).with_name("fvc")
    t0 = time.perf_counter()
    subprocess.run([str(fvc), "features", "-w", str(ws.root), "--stage", "2"], check=True,
                   env={**os.environ, "CI": "true"}, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    t = ws.read("features_stage2")
    assert t["error"].isna().all(), t["error"].iloc[0]
    print(f"fvc features on 1080p 60 s ({int(t['n_frames_sampled'].iloc[0])} sampled of 1500 frames): "
          f"{elapsed:.1f} s, peak RSS {peak_mb:.0f} MB (target <= 400 MB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--videos", type=int, default=12)
    ap.add_argument("--workspace", type=Path, help="measure on this workspace's indexed videos instead")
    ap.add_argument("--skip-memory", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.workspace:
            ws = Workspace.resolve(args.workspace)
            idx = ws.read("index")
            idx = idx[idx["error"].isna()]
            paths = [Path(p) if Path(p).is_absolute() else ws.root / p for p in idx["path"]]
            probes = idx.to_dict("records")
        else:
            paths = make_corpus(tmp, args.videos)
            probes = [probe_video(p) for p in paths]
        throughput(paths, probes)
        if not args.skip_memory:
            peak_memory(tmp)


if __name__ == "__main__":
    main()
