"""Stage 2 with 1 and 2 worker processes, in one run: the speed-up, CPU seconds and memory.

  python benchmarks/bench_workers.py [--videos 120] [--per-video 2] [--workers 1 2] [--work DIR]

Generates the demo corpus (``fvc synth``, cached in --work), runs the
pipeline to stage 1 once, then times ``fvc features --stage 2`` from scratch
with each worker count (each in a child process, sampled for the CPU seconds
and the largest RSS of its process tree: the run and its workers). Checks that
every worker count gives the same table, then prints the speed-up over the
first count. Target on 2 free cores: >= 1.8x. Also prints the CPU seconds of
each run's process tree and the load average: on a shared machine the
wall-clock speed-up is bounded by the cores the others leave free, while the
CPU seconds show what the parallel run costs beyond the serial one.
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
import psutil

FVC = str(Path(sys.executable).with_name("fvc"))
ENV = dict(os.environ, CI="true", MLFLOW_DISABLE_TELEMETRY="true")


def fvc(*args: str) -> None:
    subprocess.run([FVC, *args], check=True, env=ENV, stdout=subprocess.DEVNULL)


def watch(cmd: list[str]) -> tuple[int, float, float, float]:
    """Run ``cmd``; (exit code, wall s, CPU s and largest RSS in MB over its whole process tree).

    The tree is sampled every 0.1 s (workers are the forkserver's children,
    which getrusage of this process never sees).
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL)
    cpu: dict[int, float] = {}
    rss = 0.0
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for p in tree:
            try:
                t = p.cpu_times()
                cpu[p.pid] = t.user + t.system
                rss = max(rss, p.memory_info().rss / 2**20)
            except psutil.NoSuchProcess:
                pass
        time.sleep(0.1)
    return proc.wait(), time.perf_counter() - t0, sum(cpu.values()), rss


def timed_features(ws: Path, workers: int) -> tuple[float, float, float, pd.DataFrame]:
    """Wall seconds, CPU seconds and largest RSS (MB) of one process of stage 2 from scratch with
    ``workers``, and its table."""
    shutil.rmtree(ws / "tables" / "features_stage2.parts", ignore_errors=True)
    (ws / "tables" / "features_stage2.parquet").unlink(missing_ok=True)
    rc, seconds, cpu, rss = watch([FVC, "features", "-w", str(ws), "--stage", "2", "--workers", str(workers)])
    if rc != 0:
        raise SystemExit(f"fvc features --workers {workers} failed (exit {rc})")
    return seconds, cpu, rss, pd.read_parquet(ws / "tables" / "features_stage2.parquet")


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
        load = os.getloadavg()[0]
        seconds, cpu, rss, table = timed_features(ws, w)
        results.append((w, seconds, cpu, table))
        print(f"workers {w}: {seconds:.1f} s, {n / seconds:.2f} videos/s, CPU {cpu:.1f} s, largest process "
              f"{rss:.0f} MB RSS (load average {load:.1f} -> {os.getloadavg()[0]:.1f})")
    base_w, base_s, base_cpu, base_t = results[0]
    for w, seconds, cpu, table in results[1:]:
        pd.testing.assert_frame_equal(table, base_t)
        print(f"speed-up {w} vs {base_w} workers: {base_s / seconds:.2f}x (target >= 1.8x on 2 free cores); "
              f"CPU seconds {cpu / base_cpu:.2f}x the serial run's; tables identical")
    if not args.work:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
