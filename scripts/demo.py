"""`make demo`: the whole pipeline on a generated FVC-format corpus.

Every step is the `fvc` command a user would type, so the demo also proves
the README. Steps are resumable: re-running skips finished work.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

from fvc.data.synth import MANIPULATIONS

BIN = Path(sys.executable).parent


def fvc(*args: str, capture: bool = False) -> str:
    """Run one `fvc` command as a user would type it; stop the demo if it fails."""
    cmd = [str(BIN / "fvc"), *args]
    print(f"\n$ fvc {shlex.join(args)}", flush=True)
    t0 = time.perf_counter()
    result = subprocess.run(cmd, stdout=subprocess.PIPE if capture else None, text=True)
    if capture:
        print(result.stdout, end="", flush=True)
    if result.returncode != 0:
        sys.exit(f"demo stopped: 'fvc {args[0]}' exited with {result.returncode}")
    print(f"  ({time.perf_counter() - t0:.1f} s)", flush=True)
    return result.stdout or ""


def champion_ref(promote_output: str) -> str:
    """The champion's registry reference, from what `fvc promote` printed."""
    found = re.search(r"=\s+(fvc-\S+)\s+version", promote_output)
    if not found:
        sys.exit("demo stopped: could not read the champion's name from 'fvc promote'")
    return f"models:/{found.group(1)}@champion"


def predict_fresh(root: Path, ws: Path, model: str, seed: int) -> None:
    """Score videos generated with a seed the model never saw; print the truth beside each verdict."""
    fresh = root / f"fresh-seed{seed}"
    if not (fresh / "ground_truth.csv").exists():
        # one original per cascade: every manipulation kind once, and as many real videos
        n = str(2 * len(MANIPULATIONS))
        fvc("synth", "--out", str(fresh), "--videos", n, "--cascades", n, "--seed", str(seed), "--keep-videos")
    with open(fresh / "ground_truth.csv", newline="", encoding="utf-8") as fh:
        truth = {row["file_name"]: row for row in csv.DictReader(fh)}
    paths = [str(fresh / "videos" / name) for name in sorted(truth)]
    out = fvc("predict", *paths, "-w", str(ws), "--model", model, "--json", capture=True)
    preds = json.loads(out)["predictions"]
    print(f"\nfresh videos (synth seed {seed}, never seen in training), scored by {model}:")
    print(f"  {'video':<26} {'truth':<22} {'verdict':<8} {'p(fake)':>7}")
    right = 0
    for p in preds:
        row = truth[Path(p["video"]).name]
        said = f"{row['label_raw']} ({row['manipulation']})" if row["label_raw"] == "fake" else row["label_raw"]
        ok = p["verdict"] == row["label_raw"]
        right += ok
        print(f"  {Path(p['video']).name:<26} {said:<22} {p['verdict']:<8} {p['prob_fake']:>7.3f}  "
              f"{'right' if ok else 'WRONG'}")
    print(f"  {right} of {len(preds)} right")


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
    champion = champion_ref(fvc("promote", "-w", str(ws), capture=True))
    fvc("query", "-w", str(ws), "--name", "cv_summary")
    fvc("ablate", "-w", str(ws))  # its (variant, fold) cells on as many workers as fvc run's stages: the cores
    predict_fresh(root, ws, champion, args.seed + 1000)
    fvc("report", "-w", str(ws))
    html = master_notebook_html(ws, root / "notebooks")
    print(f"\ndemo finished in {time.perf_counter() - t0:.0f} s; workspace: {ws}")
    print("to look at the results:")
    report = ws / "artifacts" / "report.html"
    print(f"  report     open {report.as_uri()} in a browser (one file, works offline)")
    print(f"  notebook   open {html.as_uri()} (executed master notebook); to run the notebooks yourself:")
    print("             pip install -e '.[notebooks]' && jupyter lab notebooks/   (they read demo/workspace)")
    print(f"  MLflow UI  {BIN / 'fvc'} mlflow-ui -w {ws}   then open http://127.0.0.1:5000 (Ctrl-C stops it)")


if __name__ == "__main__":
    main()
