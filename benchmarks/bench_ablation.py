"""`fvc ablate` one after another and on a pool of workers, in one run: wall and CPU seconds, same table.

  python benchmarks/bench_ablation.py -w demo/workspace [--workers 1 2] [--model 5beta-lgbm]

Copies the workspace (it must hold stage-2 features, splits and, for the
default model, its trained folds) to a temp folder, then runs
``fvc ablate --force --workers N`` there for each worker count (each in a
child process; wall seconds, and CPU seconds and largest RSS over the run's
process tree, its pool workers included, as in ``bench_workers.py``). --force
recomputes every variant but 'all', which is ``fvc train``'s own run and is
reused by each. Checks that every worker count wrote the same ``ablation``
table, exactly, then prints the speed-up and the CPU ratio over the first
count. On a shared machine the wall-clock speed-up is bounded by the cores
the others leave free; the CPU ratio shows what running in parallel costs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd

from bench_workers import FVC, watch


def timed_ablation(ws: Path, workers: int, model: str | None) -> tuple[float, float, float, pd.DataFrame]:
    cmd = [FVC, "ablate", "-w", str(ws), "--force", "--workers", str(workers)] + (["--model", model] if model else [])
    rc, seconds, cpu, rss = watch(cmd)
    if rc != 0:
        raise SystemExit(f"fvc ablate --workers {workers} failed (exit {rc})")
    return seconds, cpu, rss, pd.read_parquet(ws / "tables" / "ablation.parquet")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-w", "--workspace", type=Path, default=Path("demo/workspace"))
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--model", help="the feature model to ablate (default: fvc ablate's)")
    args = ap.parse_args()
    if not (args.workspace / "tables" / "features_stage2.parquet").exists():
        sys.exit(f"{args.workspace}: no stage-2 features; run 'make demo' (or fvc run) first")
    with tempfile.TemporaryDirectory(prefix="fvc-bench-ablation-") as tmp:
        ws = Path(tmp) / "workspace"
        shutil.copytree(args.workspace, ws, ignore=shutil.ignore_patterns("*.lock", ".fvc.lock"))
        print(f"workspace copied to {ws}; cores available: {len(os.sched_getaffinity(0))}")
        results = []
        for w in args.workers:
            load = os.getloadavg()[0]
            seconds, cpu, rss, table = timed_ablation(ws, w, args.model)
            results.append((w, seconds, cpu, table))
            print(f"workers {w}: wall {seconds:.1f} s, CPU {cpu:.1f} s, largest process {rss:.0f} MB RSS, "
                  f"{table['variant'].nunique()} variants (load average {load:.1f} -> {os.getloadavg()[0]:.1f})")
        base_w, base_s, base_cpu, base_t = results[0]
        for w, seconds, cpu, table in results[1:]:
            pd.testing.assert_frame_equal(table, base_t, check_exact=True)
            print(f"{w} vs {base_w} workers: wall {base_s / seconds:.2f}x faster, CPU seconds {cpu / base_cpu:.2f}x "
                  "the first run's; ablation tables identical")


if __name__ == "__main__":
    main()
