"""A small workspace with known results for the report tests: no training, every number chosen."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from fvc.experiment.result_files import build_summary, save_cv_result, write_importance
from fvc.workspace import Workspace

N = 60
PLATFORMS = ("youtube", "facebook", "twitter")
SIZES = ((320, 180), (640, 360), (1280, 720))
KINDS = ("splice", "overlay", "cgi")
# model id -> (name, how well its scores separate the classes); 5alpha copies 5a's scores: a tie.
# Rank order (5b, 5a = 5alpha, 5beta-xgb, 5c) differs from id order on purpose.
MODELS = {"5a": ("logreg", 1.0), "5b": ("svm-rbf", 3.0), "5beta-xgb": ("xgboost", 0.6), "5c": ("naive 3D CNN", -1.5)}


def _videos() -> pd.DataFrame:
    i = np.arange(N)
    return pd.DataFrame({
        "video_id": [f"v{k}" for k in i], "cascade_id": [f"g{k // 2}" for k in i], "group_id": [f"g{k // 2}" for k in i],
        "label": i % 2, "fold": (i // 2) % 5,
    })


def _oof(v: pd.DataFrame, strength: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = strength * (2 * v["label"].to_numpy() - 1) + rng.normal(size=len(v))
    return pd.DataFrame({"video_id": v["video_id"], "source_video_id": v["video_id"], "fold": v["fold"],
                         "label": v["label"], "prob": 1 / (1 + np.exp(-z))})


def _save(ws: Workspace, mid: str, name: str, oof: pd.DataFrame, chash: str) -> None:
    spec = SimpleNamespace(name=name, family="deep" if mid == "5c" else "features", inputs="stage-2 features")
    summary = build_summary(mid, oof, config_hash=chash, spec=spec)
    summary["preset"] = "smoke" if mid == "5c" else "full"
    save_cv_result(ws, summary, oof)


def report_workspace(root) -> Workspace:
    """Splits, index, ground truth, five models' results (one tie, one worse than chance), runs, a plot."""
    ws = Workspace(root).ensure()
    v = _videos()
    splits = v.assign(label=v["label"].astype("Int64"))
    ws.write("splits", splits)
    k = np.arange(N)
    ws.write("index", pd.DataFrame({
        "video_id": v["video_id"], "path": [f"raw/FVC1/v{i}.mp4" for i in k],
        "platform": [PLATFORMS[i % 3] for i in k], "codec": ["h264" if i % 4 < 2 else "vp9" for i in k],
        "width": [SIZES[(i // 2) % 3][0] for i in k], "height": [SIZES[(i // 2) % 3][1] for i in k],
    }))
    ws.metadata_dir.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"file_name": [f"v{i}.mp4" for i in k],
                  "manipulation": ["none" if i % 2 == 0 else KINDS[(i // 2) % 3] for i in k]}
                 ).to_csv(ws.metadata_dir / "ground_truth.csv", index=False)
    runs = []
    for n, (mid, (name, strength)) in enumerate(MODELS.items()):
        chash = f"{n}e{n}"  # looks like a number to a careless sort: '0e0' < '1e1' < ...
        _save(ws, mid, name, _oof(v, strength, seed=n), chash)
        runs.append({"run_id": f"run{mid}", "model_id": mid, "kind": "model", "experiment_id": "7",
                     "tags.fvc.config_hash": chash, "tags.fvc.git_commit": "0123abcd"})
    _save(ws, "5alpha", "elasticnet", _oof(v, MODELS["5a"][1], seed=0), "99")
    runs.append({"run_id": "run5alpha", "model_id": "5alpha", "kind": "model", "experiment_id": "7",
                 "tags.fvc.config_hash": "99", "tags.fvc.git_commit": "0123abcd"})
    ws.write("mlflow_runs", pd.DataFrame(runs))
    feats = [f"feat_{j}" for j in range(15)]
    write_importance(ws, "5a", pd.DataFrame({"feature": feats, "importance": np.linspace(0.05, 0.0, 15)}))
    write_importance(ws, "5beta-xgb", pd.DataFrame({"feature": feats, "importance": np.linspace(40, 1, 15)}))
    ws.plots_dir.mkdir(parents=True, exist_ok=True)
    from fvc.plotting import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1])
    fig.savefig(ws.plots_dir / "duration_hist.png")
    plt.close(fig)
    return ws


def write_ablation(ws: Workspace) -> None:
    """An ``ablation`` table with chosen scores: lnoise alone finds 'splice' only, noise alone every kind."""
    v = _videos()
    kind = np.array(["none" if i % 2 == 0 else KINDS[(i // 2) % 3] for i in range(N)])
    found = {"all": KINDS, "without noise": ("splice",), "without lnoise": KINDS, "only noise": KINDS,
             "only lnoise": ("splice",)}
    parts = []
    for name, kinds in found.items():
        mode, _, fam = name.partition(" ")
        hit = np.isin(kind, kinds)
        prob = np.where(hit, 0.9, 0.5)  # found fakes above every real video, the others tied with them (AUC 0.5)
        parts.append(pd.DataFrame({"model": "5beta-lgbm", "variant": name, "mode": mode, "family": fam,
                                   "n_features": 40 if mode != "only" else 8, "video_id": v["video_id"],
                                   "fold": v["fold"], "label": v["label"], "prob": prob,
                                   "fold_mean_auc": 0.95 if kinds == KINDS else 0.7}))
    ws.write("ablation", pd.concat(parts, ignore_index=True))
