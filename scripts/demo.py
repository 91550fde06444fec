"""`make demo`: the whole pipeline on a generated FVC-format corpus.

Every step is the `fvc` command a user would type, so the demo also proves
the README. Steps are resumable: re-running skips finished work.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def fvc(*args: str) -> None:
    cmd = [str(BIN / "fvc"), *args]
    print(f"\n$ fvc {shlex.join(args)}", flush=True)
    t0 = time.perf_counter()
    result = subprocess.run(cmd)
    if result.returncode != 0:
        sys.exit(f"demo stopped: 'fvc {args[0]}' exited with {result.returncode}")
    print(f"  ({time.perf_counter() - t0:.1f} s)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dir", default="demo", help="where the corpus and workspace go")
    ap.add_argument("--videos", type=int, default=120)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    root = Path(args.dir).resolve()
    archives, ws = root / "archives", root / "workspace"
    t0 = time.perf_counter()
    if not (archives / "Metadata.zip").exists():
        fvc("synth", "--out", str(archives), "--videos", str(args.videos), "--seed", str(args.seed))
    fvc("setup", "-w", str(ws), "--archives", str(archives), "--password", "fvc-synth")
    fvc("index", "-w", str(ws))
    fvc("splits", "-w", str(ws), "--folds", "5", "--seed", str(args.seed))
    print(f"\ndemo finished in {time.perf_counter() - t0:.0f} s; workspace: {ws}")


if __name__ == "__main__":
    main()
