"""Peak RSS and throughput of `fvc scale --size 256 --method letterbox` on generated 1080p videos.

Usage: python benchmarks/bench_scale.py [--seconds 30 120] [--work DIR] [--size 256]

Floors (same video, same libx264 settings, plain PyAV): decode + encode at the
source size, and decode + swscale to the output size + encode (the strict one).
Each side is timed --repeat times and the fastest run counts, since the CPUs
are shared and a single run mostly measures the neighbours.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from bench_augment import FVC, floor_seconds, frame_count, make_video, measure, one_video_workspace, run_api  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, nargs="+", default=[30.0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/fvc-bench"))
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=2, help="timed runs of each side; the fastest counts (shared CPUs)")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    _, startup, startup_rss = measure([FVC, "--help"])
    print(f"fvc --help: {startup:.2f} s, peak RSS {startup_rss:.0f} MB (import baseline of every command)")
    options = {"preset": "veryfast", "crf": "20"}
    for seconds in args.seconds:
        video = make_video(args.work / f"bench1080p_{int(seconds)}s.mp4", seconds)
        n = frame_count(video)
        ws = args.work / f"ws-scale-{int(seconds)}s"
        runs = []
        for _ in range(args.repeat):
            one_video_workspace(ws, video, {"scale": {"size": args.size, "method": "letterbox"}})
            runs.append(run_api("scale.stage", "run_scale", ws))
        work, api_rss = min(runs)
        one_video_workspace(ws, video, {"scale": {"size": args.size, "method": "letterbox"}})
        rc, wall, rss = measure([FVC, "scale", "-w", str(ws)])
        table = pd.read_parquet(ws / "tables" / "scaled.parquet")
        if rc or table["error"].notna().any():
            raise SystemExit(f"fvc scale failed: {table['error'].dropna().tolist()}")
        same = min(floor_seconds(video, options) for _ in range(args.repeat))
        small = min(floor_seconds(video, options, size=(args.size, args.size)) for _ in range(args.repeat))
        print(f"{seconds:.0f} s 1080p ({n} frames) -> letterbox {args.size}")
        print(f"  fvc scale: peak RSS {rss:.0f} MB (run_scale alone in a fresh process: {api_rss:.0f} MB), "
              f"CLI wall {wall:.1f} s; {n / work:.1f} frames/s inside run_scale")
        print(f"  floor decode+encode at source size: {n / same:.1f} frames/s -> ratio {work / same:.2f}x")
        print(f"  floor decode+resize+encode at {args.size}: {n / small:.1f} frames/s -> ratio {work / small:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
