"""Clip cache benchmark: build time (decode once) and DataLoader clips/s from the memmap cache.

Target: >= 100 clips/s of 16x112x112 on 2 cores. Prints one table.
Usage: python benchmarks/bench_clips.py [--videos 8] [--clips 8] [--seconds 6]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _deep_fixtures import write_letterboxed  # noqa: E402

from fvc.training.clips import ClipSpec, build_clip_cache  # noqa: E402
from fvc.training.dataset import ClipDataset  # noqa: E402
from fvc.training.trainer import TrainConfig, Trainer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--videos", type=int, default=8)
    ap.add_argument("--clips", type=int, default=8, help="clips per video")
    ap.add_argument("--seconds", type=float, default=6.0)
    args = ap.parse_args()
    torch.set_num_threads(1)  # loader work is per-item memory passes; threads only add contention
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rows = []
        for i in range(args.videos):
            p = write_letterboxed(root / f"v{i}.mp4", fake=bool(i % 2), seed=i, frames=64, orig=(256, 144), size=256)
            rows.append({"video_id": f"v{i}", "path": str(p), "label": i % 2, "fold": i % 2})
        spec = ClipSpec(frames=16, size=112, clips_per_video=args.clips)
        t = time.perf_counter()
        cache = build_clip_cache(pd.DataFrame(rows), spec, root / "cache")
        build_s = time.perf_counter() - t
        print(f"cache build: {args.videos} videos (64 frames, 256x256) -> {len(cache)} clips of 16x112x112 "
              f"in {build_s:.2f}s ({args.videos / build_s:.2f} videos/s, decoded once)")
        print(f"{'workers':>8} {'aug':>5} {'batch':>6} {'clips/s':>9}")
        for workers in (0, 2):
            for aug in (False, True):
                ds = ClipDataset(cache, train=aug)
                loader = Trainer(TrainConfig(batch_size=8, num_workers=workers)).loader(
                    ds, True, torch.Generator().manual_seed(0))
                n, t = 0, time.perf_counter()
                while time.perf_counter() - t < args.seconds:
                    for batch in loader:
                        n += batch["clip"].shape[0]
                        if time.perf_counter() - t >= args.seconds:
                            break
                rate = n / (time.perf_counter() - t)
                print(f"{workers:>8} {str(aug):>5} {8:>6} {rate:>9.1f}")
        assert np.asarray(cache.clips).dtype == np.uint8


if __name__ == "__main__":
    main()
