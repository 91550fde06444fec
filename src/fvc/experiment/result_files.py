"""The result layout every model writes, so reports, MLflow and queries read one shape.

```
results/<model_id>/
  metrics.json             per-fold metrics, mean, std, counts, config hash, run config
  oof_predictions.parquet  video_id, source_video_id, fold, label, prob (one row per scored row)
  run_config.yaml          the RunConfig that reproduces the run
  model.joblib | model.pt  final model refitted on all data
  model.json               its model card (fvc.models.saved)
  feature_importance.csv   optional: feature, importance (feature models)
```
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError
from ..training.metrics import aggregate_by_video, binary_metrics, json_safe, summarize_folds
from ..workspace import Workspace, atomic_path, atomic_write_text, read_table, write_table

METRICS_FILE = "metrics.json"
OOF_FILE = "oof_predictions.parquet"
RUN_CONFIG_FILE = "run_config.yaml"
IMPORTANCE_FILE = "feature_importance.csv"
OOF_COLUMNS = ["video_id", "source_video_id", "fold", "label", "prob"]


def result_dir(ws: Workspace, model_id: str) -> Path:
    return ws.results_dir / model_id


@dataclass
class CVResult:
    """What the experiment loop returns after writing a model's results."""

    model_id: str
    config_hash: str
    fold_metrics: list[dict[str, Any]]
    mean: dict[str, float]
    std: dict[str, float]
    oof: pd.DataFrame
    n_failed_videos: int = 0
    final_model_path: Path | None = None
    result_dir: Path | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, Path] = field(default_factory=dict)


def check_oof(oof: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in OOF_COLUMNS if c not in oof.columns]
    if missing:
        raise ValueError(f"out-of-fold predictions lack columns {missing}")
    out = oof.copy()
    out["fold"] = out["fold"].astype("int64")
    out["label"] = out["label"].astype("int64")
    out["prob"] = out["prob"].astype("float64")
    return out


def score_oof(oof: pd.DataFrame, video_level: bool = True, threshold: float = 0.5) -> tuple[list[dict], dict]:
    """Metrics per fold (and pooled) from out-of-fold predictions.

    With ``video_level`` the rows of one source video (augmented copies, clips)
    are averaged first, so every source video counts once.
    """
    oof = check_oof(oof)
    scored = aggregate_by_video(oof, key="source_video_id") if video_level else oof
    folds = []
    for fold, part in scored.groupby("fold", sort=True):
        m = binary_metrics(part["label"], part["prob"], threshold)
        folds.append({"fold": int(fold), **m})
    pooled = binary_metrics(scored["label"], scored["prob"], threshold)
    return folds, pooled


def build_summary(
    model_id: str,
    oof: pd.DataFrame,
    *,
    config_hash: str,
    run_config: Any = None,
    spec: Any = None,
    video_level: bool = True,
    threshold: float = 0.5,
    n_failed_videos: int = 0,
    failed_video_ids: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``metrics.json`` payload: per-fold metrics, mean, std, pooled OOF metrics, counts."""
    folds, pooled = score_oof(oof, video_level=video_level, threshold=threshold)
    agg = summarize_folds(folds)
    oof_c = check_oof(oof)
    return {
        "model_id": model_id,
        "name": getattr(spec, "name", model_id),
        "family": getattr(spec, "family", None),
        "inputs": getattr(spec, "inputs", None),
        "preset": getattr(run_config, "preset", None),
        "config_hash": config_hash,
        "run_config": run_config.model_dump(mode="json") if hasattr(run_config, "model_dump") else run_config,
        "level": "video" if video_level else "row",
        "n_rows": int(len(oof_c)),
        "n_videos": int(oof_c["source_video_id"].nunique()),
        "n_failed_videos": int(n_failed_videos),
        "failed_video_ids": sorted(failed_video_ids or []),
        "folds": folds,
        "mean": agg["mean"],
        "std": agg["std"],
        "pooled": pooled,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "extra": extra or {},
    }


def save_cv_result(
    ws: Workspace,
    summary: dict[str, Any],
    oof: pd.DataFrame,
    run_config: Any = None,
    final_model_path: Path | None = None,
) -> dict[str, Path]:
    """Write metrics.json, OOF predictions and the run config; returns the artifact paths."""
    d = result_dir(ws, summary["model_id"])
    d.mkdir(parents=True, exist_ok=True)
    payload = dict(summary)
    if final_model_path is not None:
        final_model_path = Path(final_model_path)
        payload["final_model"] = str(final_model_path.relative_to(d) if final_model_path.is_relative_to(d)
                                     else final_model_path)
    arts = {
        "metrics": atomic_write_text(d / METRICS_FILE, json.dumps(json_safe(payload), indent=2)),
        "oof_predictions": write_table(check_oof(oof), d / OOF_FILE),
    }
    if run_config is not None and hasattr(run_config, "save"):
        arts["run_config"] = run_config.save(d / RUN_CONFIG_FILE)
    if final_model_path is not None:
        arts["model"] = final_model_path
    return arts


def read_metrics(ws: Workspace, model_id: str) -> dict[str, Any]:
    path = result_dir(ws, model_id) / METRICS_FILE
    if not path.exists():
        raise InputError(path, f"no results for model '{model_id}'; run 'fvc train --model {model_id}'")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON ({exc})") from exc


def read_oof(ws: Workspace, model_id: str, video_level: bool = False) -> pd.DataFrame:
    path = result_dir(ws, model_id) / OOF_FILE
    if not path.exists():
        raise InputError(path, f"no predictions for model '{model_id}'; run 'fvc train --model {model_id}'")
    try:
        df = check_oof(read_table(path))  # a corrupt file: one line naming it
    except ValueError as exc:
        raise InputError(path, str(exc)) from exc
    return aggregate_by_video(df) if video_level else df


def list_results(ws: Workspace) -> list[str]:
    """Model ids that have a metrics.json under results/ (feature and deep alike)."""
    if not ws.results_dir.exists():
        return []
    return sorted(p.parent.name for p in ws.results_dir.glob(f"*/{METRICS_FILE}"))


def write_importance(ws: Workspace, model_id: str, importance: pd.DataFrame) -> Path:
    d = result_dir(ws, model_id)
    d.mkdir(parents=True, exist_ok=True)
    path = d / IMPORTANCE_FILE
    with atomic_path(path) as tmp:
        importance.to_csv(tmp, index=False)
    return path


def read_importance(ws: Workspace, model_id: str) -> pd.DataFrame | None:
    path = result_dir(ws, model_id) / IMPORTANCE_FILE
    return pd.read_csv(path) if path.exists() else None
