"""What the report reads from a workspace: each model's results, video-level OOF with cascades, video facts.

Reads every ``results/<model>/`` with the shared layout, so deep models trained
by another trainer appear beside the feature models. One ``ModelResult`` per
model holds everything the tables and charts need.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError
from ..experiment.result_files import (
    OOF_FILE,
    list_results,
    read_importance,
    read_metrics,
    read_oof,
    result_dir,
)
from ..workspace import Workspace
from .stats import AucCI, fold_mean_auc_ci

GROUND_TRUTH = "ground_truth.csv"


@dataclass
class ModelResult:
    id: str
    metrics: dict[str, Any]
    oof: pd.DataFrame | None  # one row per source video: video_id, fold, group, label, prob
    importance: pd.DataFrame | None
    ci: AucCI | None = None
    run_id: str | None = None
    experiment_id: str | None = None
    git_commit: str | None = None  # the code the model was trained with (MLflow tag)

    @property
    def roc_auc(self) -> float | None:
        return self.metrics.get("mean", {}).get("roc_auc")


def _groups(ws: Workspace) -> pd.Series | None:
    """video_id -> split group (the cascade, merged across shared videos)."""
    if not ws.has("splits"):
        return None
    sp = ws.read("splits")
    col = "group_id" if "group_id" in sp.columns else "cascade_id"
    return sp.set_index("video_id")[col].astype(str)


def video_level_oof(ws: Workspace, model_id: str, level: str, groups: pd.Series | None) -> pd.DataFrame | None:
    """Video-level OOF predictions with each video's split group (itself when splits are missing).

    None when the model wrote no predictions file; a corrupt one is an error naming it."""
    if not (result_dir(ws, model_id) / OOF_FILE).exists():
        return None
    oof = read_oof(ws, model_id, video_level=level == "video")
    vid = oof["source_video_id"].astype(str)
    group = vid.map(groups) if groups is not None else vid
    return pd.DataFrame({"video_id": vid, "fold": oof["fold"].to_numpy(), "group": group.fillna(vid).to_numpy(),
                         "label": oof["label"].to_numpy(), "prob": oof["prob"].to_numpy()})


def _model_runs(ws: Workspace) -> pd.DataFrame | None:
    """The newest MLflow parent run per (model, config hash), from the exported runs table."""
    if not ws.has("mlflow_runs"):
        return None
    runs = ws.read("mlflow_runs")
    need = {"run_id", "model_id", "kind", "experiment_id"}
    if not need <= set(runs.columns):
        return None
    runs = runs[runs["kind"] == "model"]
    if "start_time" in runs.columns:
        runs = runs.sort_values("start_time")
    return runs


def collect(ws: Workspace, n_boot: int = 1000) -> list[ModelResult]:
    """Every model with a metrics.json, with its CI and MLflow ids, in catalog-id order."""
    groups, runs = _groups(ws), _model_runs(ws)
    out = []
    for mid in list_results(ws):
        m = read_metrics(ws, mid)
        oof = video_level_oof(ws, mid, m.get("level", "video"), groups)
        r = ModelResult(mid, m, oof if oof is not None and len(oof) else None, read_importance(ws, mid))
        if r.oof is not None:
            r.ci = fold_mean_auc_ci(r.oof, n_boot=n_boot)
        if runs is not None:
            mine = runs[runs["model_id"] == mid]
            if "tags.fvc.config_hash" in mine.columns and m.get("config_hash"):
                same = mine[mine["tags.fvc.config_hash"] == m["config_hash"]]
                mine = same if len(same) else mine
            if len(mine):
                last = mine.iloc[-1]
                r.run_id, r.experiment_id = str(last["run_id"]), str(last["experiment_id"])
                commit = last.get("tags.fvc.git_commit")
                r.git_commit = str(commit) if isinstance(commit, str) and commit else None
        out.append(r)
    return out


def video_facts(ws: Workspace) -> pd.DataFrame | None:
    """Per video: platform, codec, resolution and, for a generated corpus, the manipulation kind."""
    if not ws.has("index"):
        return None
    idx = ws.read("index")
    cols = [c for c in ("video_id", "path", "platform", "codec", "width", "height") if c in idx.columns]
    facts = idx[cols].copy()
    facts["video_id"] = facts["video_id"].astype(str)
    truth = read_ground_truth(ws)
    if truth is not None and "path" in facts.columns:
        kind = truth.set_index("file_name")["manipulation"]
        facts["manipulation"] = facts["path"].map(lambda p: Path(str(p)).name).map(kind)
    return facts


def read_ground_truth(ws: Workspace) -> pd.DataFrame | None:
    """``metadata/ground_truth.csv`` (copied by setup from a generated corpus), or None for real footage."""
    path = ws.metadata_dir / GROUND_TRUTH
    if not path.exists():
        return None
    try:
        truth = pd.read_csv(path, dtype=str)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(path, f"not a readable CSV ({exc})") from exc
    missing = {"file_name", "manipulation"} - set(truth.columns)
    if missing:
        raise InputError(path, f"lacks columns {sorted(missing)}")
    return truth
