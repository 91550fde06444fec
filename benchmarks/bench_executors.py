"""The per-video stages and feature-model training on the demo corpus, per executor, with the same tables.

  python benchmarks/bench_executors.py [--videos 120] [--per-video 2] [--cpus 2] [--executors local ray]
                                       [--models all] [--work DIR]

Generates the demo corpus once (cached in --work), then for each executor
runs ``fvc run`` from scratch in its own workspace (setup to train, no
tracking): ``local`` is the process pool with --cpus workers, ``ray`` a
local Ray with --cpus CPUs (its start-up is counted). Prints the seconds of
each stage per executor and checks every executor wrote the tables of the
first. On a shared machine the times are bounded by the cores others leave
free; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("FVC_NO_PROGRESS", "1")

TABLES = ("videos", "index", "splits", "augmented", "features_stage2", "scaled", "features_stage4")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--videos", type=int, default=120)
    ap.add_argument("--per-video", type=int, default=2)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--executors", nargs="+", default=["local", "ray"])
    ap.add_argument("--models", default="all")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "fvc-bench-executors")
    args = ap.parse_args()

    from fvc.config import FvcConfig, save_config
    from fvc.orchestration.executors import executor_for
    from fvc.pipeline import RunOptions, run_pipeline
    from fvc.workspace import Workspace

    corpus = args.work / f"corpus-{args.videos}"
    if not (corpus / "Metadata.zip").exists():
        subprocess.run([str(Path(sys.executable).with_name("fvc")), "synth", "--out", str(corpus), "--videos",
                        str(args.videos), "--seed", "7"], check=True, stdout=subprocess.DEVNULL)
    rows, first = [], None
    for name in args.executors:
        ws = Workspace(args.work / f"ws-{name}")
        if ws.root.exists():
            import shutil

            shutil.rmtree(ws.root)
        ws.ensure()
        cfg = FvcConfig()
        cfg.augment.per_video = args.per_video
        save_config(ws, cfg)
        executor = executor_for(name, workers=args.cpus)
        t0 = time.perf_counter()
        report = run_pipeline(ws, cfg, RunOptions(archives=corpus, password="fvc-synth", models=args.models,
                                                  tracking=False, workers=args.cpus, executor=executor))
        total = time.perf_counter() - t0
        if report.error:
            sys.exit(f"{name}: {report.error}")
        rows.append({"executor": name, **{r["stage"]: r["seconds"] for r in report.rows()}, "total": round(total, 1),
                     "load": round(os.getloadavg()[0], 1)})
        if first is None:
            first = ws
        else:
            for t in TABLES:
                pd.testing.assert_frame_equal(ws.read(t), first.read(t), obj=t, rtol=1e-5)
        if name == "ray":
            import ray

            ray.shutdown()
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
