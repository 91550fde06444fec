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


def master_notebook_html(ws: Path, out_dir: Path) -> Path:
    """Execute notebooks/00_master_pipeline.ipynb on the demo workspace and export it as HTML."""
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    notebooks = Path(__file__).resolve().parent.parent / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / "00_master_pipeline.ipynb"
    print(f"\n$ papermill notebooks/00_master_pipeline.ipynb {executed} -p workspace {ws}", flush=True)
    papermill.execute_notebook(notebooks / "00_master_pipeline.ipynb", executed, parameters={"workspace": str(ws)},
                               cwd=notebooks, kernel_name="python3", progress_bar=False)
    body, _ = HTMLExporter().from_notebook_node(nbformat.read(executed, as_version=4))
    html = executed.with_suffix(".html")
    html.write_text(body, encoding="utf-8")
    return html


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dir", default="demo", help="where the corpus and workspace go")
    ap.add_argument("--videos", type=int, default=120)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--per-video", type=int, default=2, help="augmented copies per video (stage 1)")
    ap.add_argument("--deep-model", default="5c", help="deep model trained at its smoke preset")
    args = ap.parse_args()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    root = Path(args.dir).resolve()
    archives, ws = root / "archives", root / "workspace"
    t0 = time.perf_counter()
    if not (archives / "Metadata.zip").exists():
        fvc("synth", "--out", str(archives), "--videos", str(args.videos), "--seed", str(args.seed))
    fvc("run", "-w", str(ws), "--archives", str(archives), "--password", "fvc-synth",
        "--per-video", str(args.per_video), "--models", "all")
    fvc("train", "-w", str(ws), "--model", args.deep_model, "--preset", "smoke")
    fvc("promote", "-w", str(ws))
    fvc("query", "-w", str(ws), "--name", "cv_summary")
    sample = sorted((ws / "raw").rglob("*.mp4"))[:2]
    if sample:
        fvc("predict", *map(str, sample), "-w", str(ws), "--model", "5a")
    fvc("report", "-w", str(ws))
    html = master_notebook_html(ws, root / "notebooks")
    print(f"\ndemo finished in {time.perf_counter() - t0:.0f} s; workspace: {ws}")
    print(f"report: {ws / 'artifacts' / 'report.html'}")
    print(f"notebook: {html}")


if __name__ == "__main__":
    main()
