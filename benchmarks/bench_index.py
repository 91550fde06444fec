"""Benchmark `fvc index`: videos probed per second (target >= 100/s on 2 cores).

Writes N small videos of mixed containers/codecs (2-4 s, 15-30 fps, 144p-360p),
then times the probe of all of them through the same code `fvc index` runs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from fvc.data.index import build_index
from fvc.video.encode import Encoder

CODECS = [("mp4", "libx264"), ("webm", "libvpx-vp9"), ("mkv", "libx265"), ("avi", "mpeg4")]


def make_corpus(root: Path, n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        ext, codec = CODECS[i % len(CODECS)]
        h = int(rng.choice([144, 240, 360]))
        w = (h * 16 // 9) // 2 * 2
        fps = int(rng.choice([15, 25, 30]))
        frames = int(fps * rng.uniform(2, 4))
        path = root / f"v{i:04d}.{ext}"
        base = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        opts = {"preset": "ultrafast"} if codec in ("libx264", "libx265") else ({"cpu-used": "8", "deadline": "realtime"} if codec == "libvpx-vp9" else None)
        if codec == "libx265":
            opts["x265-params"] = "log-level=none"
        with Encoder(path, fps=fps, width=w, height=h, codec=codec, options=opts, bit_rate=300_000) as wr:
            for t in range(frames):
                wr.write(np.roll(base, t * 3, axis=1))
        rows.append({"video_id": path.stem, "path": path.name, "cascade_id": f"f{i}", "label": i % 2})
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--videos", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        videos = make_corpus(root, args.videos)
        t_make = time.perf_counter() - t0
        build_index(videos.head(8), root, workers=1)  # warm up imports and codecs
        t0 = time.perf_counter()
        index = build_index(videos, root, workers=args.workers)
        t_index = time.perf_counter() - t0
        errors = int(index["error"].notna().sum())
        total_mb = index["file_size"].sum() / 1e6
        print(f"corpus: {args.videos} videos, {total_mb:.1f} MB, written in {t_make:.1f} s")
        print(f"index:  {t_index:.2f} s -> {args.videos / t_index:.0f} videos/s "
              f"({args.workers} workers, {errors} errors; target >= 100 videos/s)")


if __name__ == "__main__":
    main()
