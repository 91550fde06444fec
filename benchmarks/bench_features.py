"""Stage-2 feature benchmark: cost relative to the decode floor, frames/s, per-family cost, peak memory.

  python benchmarks/bench_features.py [--demo-videos 40] [--hd-videos 2] [--work DIR] [--repeat 2] [--memory]

Two corpora: the demo corpus (``fvc synth``, seed 7, its plain video files)
and a 720p 60 s corpus rendered here (a camera pan over a photograph with
sensor noise; one video with x264's default GOP, one with a 0.5 s GOP, where
'auto' sampling seeks). ``--work`` keeps both for the next run.

Per corpus, measured in the same run, video after video (the machine is
shared: only ratios measured side by side mean anything):
- decode floor: PyAV decoding the same frames to grey, as stage 2 read them
  before (``iter_frames``: every frame up to the last sampled one), and the
  planned read (the same GOPs the features decode, wanted frames to grey);
- feature time (``video_features``) over each floor; target <= 1.3x;
- sampled and decoded frames per second;
- per-family cost in ms per frame it runs on (sampled frames for the frame
  families, decoded frames for the discontinuity thumbnails).
``--memory``: peak RSS of ``fvc features`` on a 1080p 60 s video (target <= 400 MB).
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

import cv2
import numpy as np
import pandas as pd

from fvc.config import FvcConfig
from fvc.data.index import build_index
from fvc.features.extract import FAMILIES, Timings, video_features
from fvc.features.reader import decode_planned, plan_read, probe_stream
from fvc.video.encode import Encoder
from fvc.video.io import frame_to_gray, iter_frames, sample_indices
from fvc.workspace import Workspace

FVC = str(Path(sys.executable).with_name("fvc"))
PER_SAMPLED = tuple(name for name, _, _ in FAMILIES) + ("motion", "temporal", "to_grey")


def demo_corpus(work: Path, n: int) -> list[Path]:
    out = work / f"demo-v{n}-s7"
    if not (out / "videos").is_dir():
        subprocess.run([FVC, "synth", "--out", str(out), "--videos", str(n), "--seed", "7", "--keep-videos"],
                       check=True, env=dict(os.environ, CI="true"), stdout=subprocess.DEVNULL)
    return sorted(p for p in (out / "videos").iterdir() if p.is_file())


def _photo(w: int, h: int) -> np.ndarray:
    import skimage.data

    return cv2.resize(skimage.data.astronaut(), (w, h), interpolation=cv2.INTER_CUBIC)


def hd_corpus(work: Path, n: int, seconds: int = 60, fps: int = 25) -> list[Path]:
    """720p videos of ``seconds``: a slow pan with sensor noise; odd ones with a 0.5 s GOP."""
    out = work / f"hd720-{seconds}s"
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(n):
        gop = 12 if k % 2 else None
        p = out / f"hd{k}-{'gop12' if gop else 'gopdefault'}.mp4"
        paths.append(p)
        if p.exists():
            continue
        rng = np.random.default_rng(k)
        img = _photo(1280 + 400, 720 + 100)
        opts = {"preset": "veryfast", "crf": "23", **({"g": str(gop)} if gop else {})}
        tmp = p.with_suffix(".part.mp4")
        with Encoder(tmp, fps, 1280, 720, options=opts) as vw:
            for t in range(seconds * fps):
                x, y = int(200 + 190 * np.sin(t / 90 + k)), int(50 + 45 * np.sin(t / 70))
                f = img[y:y + 720, x:x + 1280].astype(np.int16) + rng.integers(-6, 7, (720, 1280, 1), dtype=np.int16)
                vw.write(np.clip(f, 0, 255).astype(np.uint8))
        tmp.rename(p)
    return paths


def _floor_sequential(path: Path, wanted: list[int]) -> float:
    t0 = time.perf_counter()
    for _ in iter_frames(path, wanted, fmt="gray"):
        pass
    return time.perf_counter() - t0


def _floor_planned(path: Path, wanted: list[int], mode: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    _, tally = probe_stream(path)
    plan = plan_read(tally, wanted, mode)
    keep, n = set(wanted), 0
    for i, frame in decode_planned(path, plan):
        n += 1
        if i in keep:
            frame_to_gray(frame)
    return time.perf_counter() - t0, n


def measure(paths: list[Path], repeat: int) -> dict:
    fcfg = FvcConfig().features
    tot = {"seq": 0.0, "plan": 0.0, "feat": 0.0, "sampled": 0, "decoded": 0, "seek": 0}
    fam: dict[str, float] = {}
    for p in paths:
        n = probe_stream(p)[0]["frame_count"]
        idx = sample_indices(int(n), fcfg.sample_fraction, fcfg.min_frames, fcfg.max_frames)
        wanted = sorted(set(idx) | {i + 1 for i in idx if i + 1 < n})
        best = {"seq": np.inf, "plan": np.inf, "feat": np.inf}
        for _ in range(repeat):  # interleaved, best of each: the least disturbed run of each
            best["seq"] = min(best["seq"], _floor_sequential(p, wanted))
            t = Timings()
            t0 = time.perf_counter()
            f = video_features(p, fcfg, t)
            dt = time.perf_counter() - t0
            if dt < best["feat"]:
                best["feat"], timings, feats = dt, t, f
            best["plan"] = min(best["plan"], _floor_planned(p, wanted, timings.modes[0])[0])
        for k in best:
            tot[k] += best[k]
        tot["sampled"] += feats["n_frames_sampled"]
        tot["decoded"] += timings.frames_decoded
        tot["seek"] += timings.modes[0] == "seek"
        for k, v in timings.items():
            fam[k] = fam.get(k, 0.0) + v
    return {**tot, "families": fam}


def report(name: str, paths: list[Path], r: dict) -> None:
    fam = r["families"]
    print(f"\n== {name}: {len(paths)} videos, {r['sampled']} sampled frames, {r['decoded']} decoded "
          f"({r['seek']} read with 'seek')")
    print(f"decode floor, sequential to the last sample (old read): {r['seq']:.2f} s; planned read: {r['plan']:.2f} s")
    print(f"features: {r['feat']:.2f} s = {r['feat'] / r['seq']:.2f}x the sequential floor, "
          f"{r['feat'] / r['plan']:.2f}x the planned floor (target <= 1.3x)")
    print(f"frames/s: {r['sampled'] / r['feat']:.1f} sampled, {r['decoded'] / r['feat']:.0f} decoded")
    rows = [(k, fam.get(k, 0.0) * 1000 / max(1, r["sampled"]), "sampled frame") for k in PER_SAMPLED]
    rows.append(("discontinuity", fam.get("discontinuity", 0.0) * 1000 / max(1, r["decoded"]), "decoded frame"))
    rows.append(("gop (extra keyframes)", fam.get("gop", 0.0) * 1000, "video total"))
    inner = sum(v for k, v in fam.items() if k != "loop_total")
    rows.append(("decode + loop", (fam.get("loop_total", 0.0) - inner) * 1000 / max(1, r["decoded"]), "decoded frame"))
    print(pd.DataFrame(rows, columns=["family", "ms", "per"]).round(3).to_string(index=False))


def peak_memory(tmp: Path) -> None:
    ws = Workspace(tmp / "memws").ensure()
    path = ws.root / "raw" / "hd.mp4"
    t0 = time.perf_counter()
    scene = _photo(1920 + 200, 1080)
    with Encoder(path, 25, 1920, 1080, bit_rate=800_000, options={"preset": "ultrafast"}) as vw:
        for t in range(60 * 25):
            x = int(100 + 90 * np.sin(t / 80))
            vw.write(np.ascontiguousarray(scene[:, x:x + 1920]))
    print(f"\ngenerated 1080p 60 s video ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.0f} s")
    videos = pd.DataFrame([{"video_id": "hd", "path": "raw/hd.mp4", "cascade_id": "c0", "label": 1}])
    videos["label"] = videos["label"].astype("Int64")
    ws.write("index", build_index(videos, ws.root, workers=1))
    ws.write("splits", pd.DataFrame({"video_id": ["hd"], "cascade_id": ["c0"], "group_id": ["c0"],
                                     "label": pd.array([1], dtype="Int64"), "fold": [0]}))
    t0 = time.perf_counter()
    subprocess.run([FVC, "features", "-w", str(ws.root), "--stage", "2"], check=True,
                   env={**os.environ, "CI": "true"}, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    t = ws.read("features_stage2")
    assert t["error"].isna().all(), t["error"].iloc[0]
    print(f"fvc features on 1080p 60 s ({int(t['n_frames_sampled'].iloc[0])} sampled of 1500 frames): "
          f"{elapsed:.1f} s, peak RSS {peak_mb:.0f} MB (target <= 400 MB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demo-videos", type=int, default=40, help="demo corpus size (fvc synth, seed 7); 0 skips it")
    ap.add_argument("--hd-videos", type=int, default=2, help="720p 60 s videos; 0 skips them")
    ap.add_argument("--repeat", type=int, default=2, help="runs per video; the best of each measure counts")
    ap.add_argument("--work", type=Path, help="keep the corpora here (reused when present)")
    ap.add_argument("--memory", action="store_true", help="also measure peak RSS on a 1080p 60 s video")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        work = args.work or Path(d)
        if args.demo_videos:
            paths = demo_corpus(work, args.demo_videos)
            report(f"demo corpus (fvc synth --videos {args.demo_videos} --seed 7)", paths, measure(paths, args.repeat))
        if args.hd_videos:
            paths = hd_corpus(work, args.hd_videos)
            report("720p 60 s corpus", paths, measure(paths, args.repeat))
        if args.memory:
            peak_memory(Path(d))


if __name__ == "__main__":
    main()
