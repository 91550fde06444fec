"""Peak RSS and throughput of `fvc augment` on generated 1080p videos.

Usage: python benchmarks/bench_augment.py [--seconds 30 120] [--work DIR] [--ops all|mixed]

For each length it generates (once, cached in --work) a 1080p30 H.264 video
at a low bitrate, runs `fvc augment --per-video 1` in a subprocess under a
wrapper that reports the child's peak RSS (getrusage), and compares the
throughput with the floor: a plain PyAV decode + encode of the same video
with the same encoder settings (decoded frames passed straight to libx264).
`--ops all` turns every op on (reversal included: the memory worst case).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pandas as pd

FVC = str(Path(sys.executable).with_name("fvc"))
WRAPPER = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter(); rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "dt = time.perf_counter() - t\n"
    "print(rc, dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def make_video(path: Path, seconds: float, fps: int = 30, width: int = 1920, height: int = 1080) -> Path:
    """A moving textured 1080p video, encoded fast at ~3 Mbit/s, streamed (constant memory)."""
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp.mp4")
    rng = np.random.default_rng(0)
    tex = cv2.resize(rng.integers(0, 255, (height // 8, (width + 4 * fps * int(seconds) + 8) // 8 + 1, 3), dtype=np.uint8),
                     None, fx=8, fy=8, interpolation=cv2.INTER_CUBIC)
    with av.open(str(tmp), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        s.bit_rate = 3_000_000
        s.options = {"preset": "ultrafast"}
        for i in range(int(seconds * fps)):
            img = np.ascontiguousarray(tex[:height, 4 * i : 4 * i + width])
            x = int((i * 11) % (width - 200))
            cv2.rectangle(img, (x, 300), (x + 200, 500), (255, 255, 255), -1)
            cv2.putText(img, str(i), (50, 150), cv2.FONT_HERSHEY_SIMPLEX, 4, (0, 0, 0), 8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    tmp.rename(path)
    return path


def frame_count(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for p in c.demux(video=0) if p.size)


def floor_seconds(src: Path, options: dict[str, str], size: tuple[int, int] | None = None) -> float:
    """Plain PyAV decode + encode (libx264, same options); ``size`` resizes in swscale."""
    out = src.with_name(f".floor-{src.stem}.mp4")
    t = time.perf_counter()
    with av.open(str(src)) as ic, av.open(str(out), "w") as oc:
        ist = ic.streams.video[0]
        ist.thread_type = "AUTO"
        ost = oc.add_stream("libx264", rate=Fraction(ist.average_rate))
        ost.width, ost.height = size or (ist.codec_context.width, ist.codec_context.height)
        ost.pix_fmt = "yuv420p"
        ost.options = dict(options)
        tb = 1 / Fraction(ist.average_rate)
        for i, frame in enumerate(ic.decode(ist)):
            if size:
                frame = frame.reformat(width=size[0], height=size[1], format="yuv420p")
            frame.pts, frame.time_base = i, tb
            for p in ost.encode(frame):
                oc.mux(p)
        for p in ost.encode(None):
            oc.mux(p)
    dt = time.perf_counter() - t
    out.unlink()
    return dt


def one_video_workspace(ws: Path, video: Path, config: dict) -> None:
    """index + splits with one labelled video, and fvc.yaml with ``config``."""
    import yaml

    (ws / "tables").mkdir(parents=True, exist_ok=True)
    for name in ("augmented", "scaled"):
        for p in (ws / "tables").glob(f"{name}*"):
            if p.is_dir():
                for f in p.iterdir():
                    f.unlink()
                p.rmdir()
            else:
                p.unlink()
    pd.DataFrame([{"video_id": video.stem, "path": str(video), "error": None}]).to_parquet(ws / "tables" / "index.parquet")
    sp = pd.DataFrame([{"video_id": video.stem, "cascade_id": "c0", "group_id": "c0", "label": 1, "fold": 0}])
    sp["label"] = sp["label"].astype("Int64")
    sp.to_parquet(ws / "tables" / "splits.parquet")
    (ws / "fvc.yaml").write_text(yaml.safe_dump(config))


def measure(cmd: list[str]) -> tuple[int, float, float]:
    """(returncode, wall seconds, peak RSS in MB) of ``cmd`` run in a fresh process."""
    out = subprocess.run([sys.executable, "-c", WRAPPER, *cmd], capture_output=True, text=True, check=True)
    rc, dt, kb = out.stdout.split()
    return int(rc), float(dt), int(kb) / 1024


API = (
    "import sys, time; from pathlib import Path; from fvc.workspace import Workspace\n"
    "from fvc.config import load_config; import fvc.{mod} as m\n"
    "ws = Workspace.resolve(sys.argv[1]); t = time.perf_counter(); m.{fn}(ws, load_config(ws))\n"
    "Path(sys.argv[2]).write_text(str(time.perf_counter() - t))\n"
)


def run_api(mod: str, fn: str, ws: Path) -> tuple[float, float]:
    """The stage's Python function in a fresh process: (seconds inside the call, peak RSS MB)."""
    timing = ws / "elapsed.txt"
    rc, _, rss = measure([sys.executable, "-c", API.format(mod=mod, fn=fn), str(ws), str(timing)])
    if rc:
        raise SystemExit(f"{mod}.{fn} failed (exit {rc})")
    return float(timing.read_text()), rss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, nargs="+", default=[30.0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/fvc-bench"))
    ap.add_argument("--ops", choices=["all", "mixed"], default="all")
    ap.add_argument("--mode", choices=["both", "cli"], default="both",
                    help="cli: skip the extra run of run_augment alone (halves the time; throughput from CLI wall time)")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    _, startup, startup_rss = measure([FVC, "--help"])
    print(f"fvc --help: {startup:.2f} s, peak RSS {startup_rss:.0f} MB (import baseline of every command)")
    options = {"preset": "veryfast", "crf": "20"}
    for seconds in args.seconds:
        video = make_video(args.work / f"bench1080p_{int(seconds)}s.mp4", seconds)
        n = frame_count(video)
        ws = args.work / f"ws-augment-{int(seconds)}s"
        cfg = {"augment": {"per_video": 1, "op_probability": 1.0 if args.ops == "all" else 0.5}}
        one_video_workspace(ws, video, cfg)
        work = api_rss = None
        if args.mode == "both":
            work, api_rss = run_api("augment.stage", "run_augment", ws)
            one_video_workspace(ws, video, cfg)
        rc, wall, rss = measure([FVC, "augment", "-w", str(ws)])
        if work is None:
            work = wall - startup
        table = pd.read_parquet(ws / "tables" / "augmented.parquet")
        if rc or table["error"].notna().any():
            raise SystemExit(f"fvc augment failed: {table['error'].dropna().tolist()}")
        aug = table[table["is_augmented"]].iloc[0]
        ops = [k for k, v in json.loads(aug["params"])["ops"].items() if v["on"]]
        floor = floor_seconds(video, options)
        print(f"{seconds:.0f} s 1080p ({n} frames, {video.stat().st_size / 1e6:.0f} MB), ops: {','.join(ops)}")
        alone = f" (run_augment alone in a fresh process: {api_rss:.0f} MB)" if api_rss else ""
        where = "inside run_augment" if api_rss else "CLI wall minus startup"
        print(f"  fvc augment: peak RSS {rss:.0f} MB{alone}, CLI wall {wall:.1f} s; {n / work:.1f} frames/s {where}")
        print(f"  floor decode+encode: {n / floor:.1f} frames/s -> augmentation/floor time ratio {work / floor:.2f}x")


if __name__ == "__main__":
    main()
