"""Stage 2 with 1 and 2 worker processes, in one run: the speed-up and the peak RSS.

  python benchmarks/bench_workers.py [--videos 120] [--per-video 2] [--workers 1 2] [--work DIR]

Generates the demo corpus (``fvc synth``, cached in --work), runs the
pipeline to stage 1 once, then times ``fvc features --stage 2`` from scratch
with each worker count (each in a child process, under a wrapper that reports
the peak RSS of its whole process tree: the run and its workers). Checks that
every worker count gives the same table, then prints the speed-up over the
first count. Target on 2 free cores: >= 1.8x.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from bench_augment import FVC, WRAPPER  # the child-process wrapper reporting peak RSS

ENV = dict(os.environ, CI="true", MLFLOW_DISABLE_TELEMETRY="true")


def fvc(*args: str) -> None:
    subprocess.run([FVC, *args], check=True, env=ENV, stdout=subprocess.DEVNULL)


def timed_features(ws: Path, workers: int) -> tuple[float, float, pd.DataFrame]:
    """Seconds and peak RSS (MB) of stage 2 from scratch with ``workers``, and its table."""
    shutil.rmtree(ws / "tables" / "features_stage2.parts", ignore_errors=True)
    (ws / "tables" / "features_stage2.parquet").unlink(missing_ok=True)
    out = subprocess.run([sys.executable, "-c", WRAPPER, FVC, "features", "-w", str(ws), "--stage", "2",
                          "--workers", str(workers)], check=True, env=ENV, capture_output=True, text=True)
    rc, seconds, rss_kb = out.stdout.split()
    if rc != "0":
        raise SystemExit(f"fvc features --workers {workers} failed (exit {rc})")
    return float(seconds), int(rss_kb) / 1024, pd.read_parquet(ws / "tables" / "features_stage2.parquet")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--videos", type=int, default=120, help="corpus size (the demo's default)")
    ap.add_argument("--per-video", type=int, default=2, help="augmented copies per video (the demo's default)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--work", type=Path, help="keep the corpus and workspace here (default: a temp folder)")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="fvc-bench-workers-"))
    corpus, ws = work / f"corpus-{args.videos}", work / f"ws-{args.videos}-{args.per_video}"
    t0 = time.perf_counter()
    if not (corpus / "Metadata.zip").exists():
        fvc("synth", "--out", str(corpus), "--videos", str(args.videos), "--seed", "7")
    fvc("run", "-w", str(ws), "--archives", str(corpus), "--password", "fvc-synth", "--to", "augment",
        "--per-video", str(args.per_video), "--workers", str(max(args.workers)))
    n = len(pd.read_parquet(ws / "tables" / "augmented.parquet"))
    print(f"corpus {args.videos} videos, {args.per_video} copies each: {n} stage-2 videos "
          f"(prepared in {time.perf_counter() - t0:.0f} s); cores available: {len(os.sched_getaffinity(0))}")
    results = []
    for w in args.workers:
        seconds, rss, table = timed_features(ws, w)
        results.append((w, seconds, rss, table))
        print(f"workers {w}: {seconds:.1f} s, {n / seconds:.2f} videos/s, peak RSS of the process tree {rss:.0f} MB")
    base_w, base_s, _, base_t = results[0]
    for w, seconds, _, table in results[1:]:
        pd.testing.assert_frame_equal(table, base_t)
        print(f"speed-up {w} vs {base_w} workers: {base_s / seconds:.2f}x (target >= 1.8x on 2 free cores); "
              "tables identical")
    if not args.work:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
