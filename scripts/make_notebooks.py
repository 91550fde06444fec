"""Write notebooks/00_master_pipeline.ipynb and one notebook per catalog model.

The narrative comes from the catalog (summary, paper, year, inputs, data
config, presets, weights) and from the hand-written files in notebooks/text/
(``00_master_pipeline.md`` and one ``<family>.md`` per model family); the
code cells come from this script. Notebooks are written without outputs.

    python scripts/make_notebooks.py            # (re)write the notebooks
    python scripts/make_notebooks.py --check    # exit 1 when they differ from what would be written
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from fvc.models import ModelEntry, list_models

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TEXT = NOTEBOOKS / "text"
MASTER = "00_master_pipeline"
KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
          "language_info": {"name": "python"}}

PARAMETERS = '''workspace = "demo/workspace"  # the workspace to read; relative paths start at the repository root
train = False  # true: {train}'''

SETUP = '''import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
import pandas as pd
from IPython.display import Image, Markdown, display

from fvc.workspace import Workspace

ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
ws = Workspace((ROOT / Path(workspace).expanduser()).resolve())
FVC = Path(sys.executable).parent / "fvc"


def fvc(*args):
    """Run an fvc command as a user types it; stop the notebook when it fails."""
    print("$ fvc", " ".join(map(str, args)))
    done = subprocess.run([str(FVC), *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "FVC_NO_PROGRESS": "1", "NO_COLOR": "1"})
    print(done.stdout[-4000:], done.stderr[-2000:], sep="\\n")
    if done.returncode:
        raise RuntimeError(f"fvc {args[0]} exited with {done.returncode}")


print("workspace:", ws.root, "(exists)" if ws.root.exists() else "(missing)")'''


# -- helpers -----------------------------------------------------------------
def sections(path: Path) -> dict[str, str]:
    """A markdown file split at its ``## `` headings: heading -> text (the text before the first: key '')."""
    out: dict[str, list[str]] = {"": []}
    key = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            key = line[3:].strip()
            out[key] = []
        out[key].append(line)
    return {k: "\n".join(v).strip() for k, v in out.items()}


def slug(name: str) -> str:
    """File-name form of a model name: ``R(2+1)D-18`` -> ``r2plus1d-18``."""
    text = re.sub(r"[()]", "", name.lower()).replace("+", "plus")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def notebook_name(entry: ModelEntry) -> str:
    return f"{entry.id}_{slug(entry.name)}.ipynb"


def _notebook(cells: list) -> nbformat.NotebookNode:
    """Cells with stable ids (nbformat draws random ones), so the output is reproducible."""
    for i, cell in enumerate(cells):
        cell.id = f"cell-{i:02d}"
    nb = new_notebook(cells=cells, metadata=KERNEL)
    nbformat.validate(nb)
    return nb


def _table(rows: list[tuple[str, object]]) -> str:
    return "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def _jsonish(value: object) -> str:
    return "`" + json.dumps(value, default=list) + "`"


# -- one notebook per model ---------------------------------------------------
def _facts(entry: ModelEntry) -> str:
    full = entry.preset("full")
    data = entry.data_config(full)
    rows = [("id", f"`{entry.id}`"), ("family", entry.family), ("paper", entry.paper or "-"),
            ("year", entry.year or "-"), ("inputs", entry.inputs), ("presets", ", ".join(entry.presets))]
    if data.kind == "features":
        rows += [("feature stages", ", ".join(map(str, data.stages))), ("feature version", data.feature_version)]
    elif data.kind == "ensemble":
        rows += [("members (default)", ", ".join(entry.build(full["model"])))]
    else:
        clip = data.clip
        rows += [("clip (full)", f"{clip.frames} frames of {clip.size}x{clip.size}, mode {clip.mode}"
                  + (", optical flow" if clip.flow else "")),
                 ("normalisation", f"mean {data.mean}, std {data.std}")]
        if data.backbone:
            rows += [("backbone", f"`{data.backbone}`")]
    if entry.weights is not None:
        meta = entry.weights.meta
        rows += [("pretrained weights", f"`{entry.weights.name}` ({meta.get('source', '')})"),
                 ("published parameters", f"{meta['num_params']:,}" if "num_params" in meta else "-")]
    return _table(rows)


def _presets(entry: ModelEntry) -> str:
    lines = ["| preset | part | settings |", "|---|---|---|"]
    for name in entry.presets:
        for part, value in entry.preset(name).items():
            if value:
                lines.append(f"| {name} | {part} | {_jsonish(value)} |")
    return "\n".join(lines)


def model_notebook(entry: ModelEntry) -> nbformat.NotebookNode:
    text = sections(TEXT / f"{entry.family}.md")
    doc = (entry.builder.__doc__ or "").strip()
    preset = "smoke" if "smoke" in entry.presets else "full"
    cells = [
        new_markdown_cell(f"# {entry.id}: {entry.name}\n\n{entry.summary}\n\n{_facts(entry)}"
                          + (f"\n\nBuilder: {doc}" if doc else "")),
        new_markdown_cell("## Parameters\n`workspace` is the workspace to read (default `demo/workspace`, "
                          f"built by `make demo`); `train = True` trains {entry.id} at its `{preset}` preset first."),
        new_code_cell(PARAMETERS.format(train=f"train {entry.id} at its '{preset}' preset first"),
                      metadata={"tags": ["parameters"]}),
        new_code_cell(SETUP + f'''

from fvc.experiment.result_files import list_results, read_metrics, read_oof, result_dir
from fvc.models import get_model

entry = get_model("{entry.id}")
PRESET = "{preset}"'''),
        new_markdown_cell(text["Architecture"]),
        new_markdown_cell("The network or estimator as the catalog builds it at the `full` preset "
                          "(without pretrained weights: nothing is downloaded)."),
        new_code_cell(_ARCHITECTURE[entry.family]),
        new_markdown_cell(text["Training"] + "\n\nThe presets, as the catalog holds them:\n\n" + _presets(entry)),
        new_code_cell('''if train:
    fvc("train", "-w", ws.root, "--model", entry.id, "--preset", PRESET)
trained = ws.root.exists() and entry.id in list_results(ws)
if trained:
    metrics = read_metrics(ws, entry.id)
    print(f"{entry.id}: results in {result_dir(ws, entry.id)} (preset {metrics['preset']})")
else:
    print(f"no results for model {entry.id} in {ws.root}: run 'fvc train -w {ws.root} --model {entry.id} "
          f"--preset {PRESET}' or set train = True; the result cells below are skipped")'''),
        new_markdown_cell("## Results\nMean and standard deviation over the folds, and the pooled out-of-fold "
                          "metrics (video level)."),
        new_code_cell('''if trained:
    summary = pd.DataFrame({"mean": metrics["mean"], "std": metrics["std"], "pooled": metrics["pooled"]})
    display(summary.loc[["roc_auc", "pr_auc", "balanced_accuracy", "accuracy", "f1", "eer", "log_loss", "brier"]]
            .round(4))
    oof = read_oof(ws, entry.id, video_level=True)
    print(f"{len(oof)} videos scored out of fold, {oof['label'].sum()} fake")'''),
        new_markdown_cell("ROC and precision-recall curves of the out-of-fold predictions, the confusion matrix "
                          "at threshold 0.5, and the metrics per fold (a fold far from the others points at a "
                          "cascade the model cannot generalise to)."),
        new_code_cell('''if trained:
    from fvc.report.figures import confusion_figure, fold_figure, pr_figure, roc_figure

    pooled = metrics["pooled"]
    folds = pd.DataFrame(metrics["folds"])
    display(Image(roc_figure({entry.id: oof})), Image(pr_figure({entry.id: oof})),
            Image(confusion_figure(entry.id, *(int(pooled[k]) for k in ("tn", "fp", "fn", "tp")))),
            Image(fold_figure({entry.id: folds})))
    display(folds[["fold", "n", "n_pos", "roc_auc", "accuracy", "f1", "log_loss"]].round(4))'''),
        new_markdown_cell("## MLOps\n" + text["MLOps"].removeprefix("## MLOps").strip()
                          + "\n\nDuckDB over the workspace: this model's predictions furthest from their label."),
        new_code_cell('''if trained:
    from fvc.analytics import connect

    an = connect(ws)
    display(an.sql(f"""
        SELECT source_video_id, fold, label, round(avg(prob), 3) AS p_fake, count(*) AS rows
        FROM predictions WHERE model_id = '{entry.id}'
        GROUP BY source_video_id, fold, label ORDER BY abs(label - p_fake) DESC LIMIT 5"""))'''),
        new_markdown_cell("The MLflow runs of this model (parent, folds, grid points, final) and its registered "
                          "versions with their CV scores and aliases."),
        new_code_cell('''if trained:
    import mlflow

    from fvc.tracking.mlflow_store import open_store
    from fvc.tracking.model_registry import candidates

    store = open_store(ws)
    runs = mlflow.search_runs([store.experiment_id], filter_string=f"tags.`fvc.model_id` = '{entry.id}'")
    print(f"{len(runs)} MLflow runs for {entry.id}")
    display(runs[[c for c in ("tags.mlflow.runName", "status", "metrics.roc_auc", "params.config_hash")
                  if c in runs.columns]].head(8))
    versions = candidates(store, entry.id)
    display(versions)
    print("registered:", ", ".join(f"{r.name} v{r.version}" + (f" @{r.aliases}" if r.aliases else "")
                                   for r in versions.itertuples()) or "none")'''),
        new_markdown_cell("## Sample videos\nA middle frame of two scored videos (one real, one fake where both "
                          "exist) with their out-of-fold probability."),
        new_code_cell('''if trained:
    import io

    from fvc.plotting import pyplot
    from fvc.video.io import iter_frames

    plt = pyplot()
    index = ws.read("index").set_index("video_id")
    picks = pd.concat([part.head(1) for _, part in oof.groupby("label")]).head(2)
    fig, axes = plt.subplots(1, len(picks), figsize=(4 * len(picks), 3.2), squeeze=False)
    for ax, row in zip(axes[0], picks.itertuples()):
        info = index.loc[row.source_video_id]
        middle = int(info["frame_count"]) // 2 if pd.notna(info["frame_count"]) else 0
        _, frame = next(iter_frames(ws.root / info["path"], [middle]))
        ax.imshow(frame)
        ax.set_title(f"{row.source_video_id}\\n{'fake' if row.label else 'real'}, P(fake) = {row.prob:.2f}", fontsize=9)
        ax.axis("off")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    display(Image(buf.getvalue()))'''),
        new_markdown_cell("## Model file\nThe final model and its card: the card names the file, the data config "
                          "and the configuration hash of the run that produced it."),
        new_code_cell('''if trained:
    from fvc.models.saved import load_model

    model, card = load_model(result_dir(ws, entry.id))
    path = result_dir(ws, entry.id) / card.file
    assert card.model_id == entry.id and path.is_file(), (card.model_id, path)
    assert card.config_hash == metrics["config_hash"], "the card and metrics.json come from different runs"
    print(f"model file verified: {path.relative_to(ws.root)} ({path.stat().st_size:,} bytes), "
          f"card {card.model_id} preset {card.preset}, config {card.config_hash}")
    display(pd.Series({"family": card.family, "data": card.data, "scale": card.scale,
                       "columns": len(card.columns), "package": card.package_version}).to_frame("card"))'''),
        new_markdown_cell("## Predict\n`fvc predict` on one video of the workspace: the model card is replayed "
                          "(sampling, scaling, clips), never the workspace configuration."),
        new_code_cell('''if trained:
    from fvc.predict import Predictor

    video = ws.root / index.loc[picks.iloc[0]["source_video_id"], "path"]
    pred = Predictor(path).predict_file(video)
    assert pred.error is None, pred.error
    print(f"predict: {video.name}: P(fake) = {pred.prob_fake:.3f} -> {pred.verdict} ({pred.clips} clips)")'''),
    ]
    return _notebook(cells)


_ARCHITECTURE = {
    "features": '''estimator = entry.build(entry.preset("full")["model"])
print(estimator)
print("search grid:", entry.preset("full").get("grid"))''',
    "deep": '''full = entry.preset("full")["model"]
net = entry.build({**full, **({"weights": None} if "weights" in full else {})})
n_params = sum(p.numel() for p in net.parameters())
published = (entry.weights.meta.get("num_params") if entry.weights else None)
print(f"{entry.name}: {n_params:,} parameters" + (f" (published backbone: {published:,})" if published else ""))
display(pd.DataFrame([(name, type(m).__name__, sum(p.numel() for p in m.parameters()))
                      for name, m in net.named_children()], columns=["block", "type", "parameters"]))''',
    "embedding": '''full = entry.preset("full")
estimator = entry.build(full["model"])
backbone = get_model(entry.data.backbone)
print(f"backbone: {backbone.id} {backbone.name}, {backbone.num_params:,} parameters, "
      f"clip {entry.data_config(full).clip}")
print(estimator)
print("search grid:", full.get("grid"))''',
    "ensemble": '''members = entry.build(entry.preset("full")["model"])
print("members:", ", ".join(f"{m} ({get_model(m).name}, {get_model(m).family})" for m in members))''',
}


# -- the master notebook -------------------------------------------------------
MASTER_PARAMETERS = PARAMETERS.format(train="build a generated corpus and run the pipeline end to end first") + '''
videos = 120  # corpus size when train is true (fvc synth --videos)
max_height = 720  # fvc synth --max-height
max_duration = 8.0  # fvc synth --max-duration
per_video = 2  # augmented copies per video (stage 1)
size = 256  # stage-3 letterbox size
models = "all"  # feature models trained by fvc run
deep_model = "5c"  # deep model trained at its smoke preset ("" for none)'''

MASTER_CODE = {
    "Parameters": [(MASTER_PARAMETERS, ["parameters"])],
    "Setup": [SETUP],
    "Run the pipeline": ['''if train:
    archives = ws.root.parent / "archives"
    if not (archives / "Metadata.zip").exists():
        fvc("synth", "--out", archives, "--videos", videos, "--seed", 7, "--max-height", max_height,
            "--max-duration", max_duration)
    fvc("run", "-w", ws.root, "--archives", archives, "--password", "fvc-synth", "--per-video", per_video,
        "--size", size, "--models", models)
    if deep_model:
        fvc("train", "-w", ws.root, "--model", deep_model, "--preset", "smoke")
    fvc("promote", "-w", ws.root)
assert ws.has("index"), f"{ws.root} holds no pipeline output: run 'make demo' or set train = True"'''],
    "Exploration": ['''index = ws.read("index")
print(f"{len(index)} videos, {index['label'].notna().sum()} labelled "
      f"({(index['label'] == 1).sum()} fake, {(index['label'] == 0).sum()} real)")
display(pd.crosstab(index["codec"], index["label_raw"]))
display(index.groupby("label_raw")[["width", "height", "fps", "frame_count", "duration"]].median().round(1))''',
                    '''for name in ("class_platform_codec", "resolution_scatter", "cascade_sizes"):
    png = ws.plots_dir / f"{name}.png"
    if png.exists():
        display(Image(filename=str(png), width=420))'''],
    "Splits": ['''from fvc.analytics import connect, list_queries, run_named

an = connect(ws)
display(run_named(an, "fold_balance"))'''],
    "Stages": ['''for table in ("augmented", "features_stage2", "scaled", "features_stage4"):
    if ws.has(table):
        t = ws.read(table)
        failed = int(t["error"].notna().sum()) if "error" in t else 0
        print(f"{table:16s} {len(t):5d} rows, {failed} failed, {t.shape[1]} columns")
scaled = ws.read("scaled")
display(scaled[["is_upscaled", "is_downscaled"]].sum().to_frame("videos"))'''],
    "Features": ['''display(run_named(an, "feature_stats_by_label").head(10))'''],
    "MLOps": ['''display(pd.DataFrame(list_queries(an)))
display(run_named(an, "cv_summary"))''',
              '''import mlflow

from fvc.tracking.mlflow_store import open_store
from fvc.tracking.model_registry import candidates

store = open_store(ws)
runs = mlflow.search_runs([store.experiment_id])
print(f"{len(runs)} MLflow runs in {store.uri}")
display(runs.groupby(["tags.fvc.model_id", "tags.fvc.kind"]).size().rename("runs").to_frame())
versions = candidates(store)
display(versions)''',
              '''from fvc.pipeline import STAGES

print(" -> ".join(STAGES))'''],
    "Preprocessing": ['''from fvc.experiment.result_files import list_results, read_metrics, read_oof, result_dir
from fvc.models import get_model
from fvc.models.saved import load_model

trained = list_results(ws)
print("trained models:", ", ".join(trained))
features_trained = [m for m in trained if get_model(m).family == "features"]
if features_trained:
    model, card = load_model(result_dir(ws, features_trained[0]))
    print(f"{card.model_id}: {len(card.columns)} feature columns, stages {card.data['stages']}")
    display(model.pipeline)'''],
    "Results": ['''from fvc.report.figures import fold_figure, pr_figure, roc_figure

oofs = {m: read_oof(ws, m, video_level=True) for m in trained}
folds = {m: pd.DataFrame(read_metrics(ws, m)["folds"]) for m in trained}
display(Image(roc_figure(oofs)), Image(pr_figure(oofs)), Image(fold_figure(folds)))'''],
    "Predict": ['''from fvc.predict import Predictor

champion = versions[versions["aliases"].str.contains("champion")]
best = champion.iloc[0]["name"].removeprefix("fvc-") if len(champion) else trained[0]
video = ws.root / index["path"].iloc[0]
pred = Predictor(result_dir(ws, best) / load_model(result_dir(ws, best))[1].file).predict_file(video)
assert pred.error is None, pred.error
print(f"predict with {best}: {video.name}: P(fake) = {pred.prob_fake:.3f} -> {pred.verdict}")'''],
}


def master_notebook(entries: list[ModelEntry]) -> nbformat.NotebookNode:
    text = sections(TEXT / f"{MASTER}.md")
    unknown = set(MASTER_CODE) - set(text)
    if unknown:
        raise SystemExit(f"{TEXT / (MASTER + '.md')}: no '## ' section for {sorted(unknown)}")
    cells = []
    for heading, body in text.items():
        if heading == "Next":
            body += "\n\n" + "\n".join(f"- [{e.id}: {e.name}]({notebook_name(e)}) - {e.summary}" for e in entries)
        cells.append(new_markdown_cell(body))
        for src in MASTER_CODE.get(heading, []):
            code, tags = src if isinstance(src, tuple) else (src, [])
            cells.append(new_code_cell(code, metadata={"tags": tags} if tags else {}))
    return _notebook(cells)


# -- writing and checking ------------------------------------------------------
def render() -> dict[str, str]:
    """File name -> notebook text, for the master and every catalog model."""
    entries = list_models()
    out = {f"{MASTER}.ipynb": nbformat.writes(master_notebook(entries))}
    out.update({notebook_name(e): nbformat.writes(model_notebook(e)) for e in entries})
    return {name: text + "\n" for name, text in out.items()}


def differences(folder: Path = NOTEBOOKS) -> list[str]:
    """Notebooks missing, stale or not generated, as lines naming each."""
    wanted = render()
    lines = []
    for name, text in wanted.items():
        path = folder / name
        if not path.exists():
            lines.append(f"missing: {path}")
        elif path.read_text(encoding="utf-8") != text:
            lines.append(f"differs: {path}")
    lines += [f"not generated: {p}" for p in sorted(folder.glob("*.ipynb")) if p.name not in wanted]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only compare; exit 1 when anything differs")
    args = ap.parse_args()
    if args.check:
        diff = differences()
        print("\n".join(diff) or "notebooks are up to date")
        sys.exit(1 if diff else 0)
    wanted = render()
    for stale in NOTEBOOKS.glob("*.ipynb"):
        if stale.name not in wanted:
            stale.unlink()
            print(f"removed {stale.relative_to(ROOT)}")
    for name, text in wanted.items():
        (NOTEBOOKS / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(wanted)} notebooks to {NOTEBOOKS.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
