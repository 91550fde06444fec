"""Shared by the executor tests: a plain `fvc run` to compare with, and the comparisons themselves
(tables, cross-validation results, the MLflow run tree)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
from test_run import small_workspace

from fvc.experiment.result_files import METRICS_FILE, OOF_FILE
from fvc.pipeline import RunOptions, run_pipeline
from fvc.workspace import Workspace

TABLES = ("videos", "index", "splits", "augmented", "features_stage2", "scaled", "features_stage4")


def plain_run(root: Path, src: Path, models: str = "5a", stop: str | None = None, **opts) -> Workspace:
    """The reference: `fvc run` in this process, one worker, no tracking."""
    ws, cfg = small_workspace(root)
    report = run_pipeline(ws, cfg, RunOptions(archives=src, models=models, tracking=False, **opts), None, stop)
    assert report.error is None, report.error
    return ws


# Another process may sum float32 pixels in another order (OpenCV and BLAS threads): equal means equal
# to 1e-5 (float32 sums; pandas' default, as test_executor uses), not bit for bit; a wrong row, fold
# or model is off by far more.
RTOL = 1e-5


def assert_same_tables(got: Workspace, want: Workspace, tables=TABLES) -> None:
    for name in tables:
        pd.testing.assert_frame_equal(got.read(name), want.read(name), obj=name, rtol=RTOL)


def cv_result(ws: Workspace, model: str) -> tuple[dict, pd.DataFrame]:
    d = ws.results_dir / model
    metrics = json.loads((d / METRICS_FILE).read_text())
    oof = pd.read_parquet(d / OOF_FILE).sort_values(["fold", "video_id"]).reset_index(drop=True)
    return {k: metrics[k] for k in ("folds", "mean", "std", "n_rows")}, oof


def _close(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=RTOL, abs_tol=1e-12)
    return a == b


def assert_same_cv(got: Workspace, want: Workspace, model: str) -> None:
    """Same out-of-fold predictions and the same fold, mean and std metrics."""
    (m_got, oof_got), (m_want, oof_want) = cv_result(got, model), cv_result(want, model)
    pd.testing.assert_frame_equal(oof_got, oof_want, obj=f"{model} OOF predictions", rtol=RTOL)
    diff = {k: (m_got[k], m_want[k]) for k in m_want if not _close(m_got[k], m_want[k])}
    assert not diff, f"{model} metrics differ: {diff}"


def mlflow_tree(ws: Workspace) -> dict[str, dict]:
    """model id -> {parents, folds: {fold: grid runs under it}, orphans}: what a tracked run left in MLflow."""
    from fvc.tracking.mlflow_store import open_store

    store = open_store(ws)
    runs = store.client.search_runs([store.experiment_id], max_results=5000)
    by_id = {r.info.run_id: r for r in runs}
    tree: dict[str, dict] = {}
    for r in runs:
        tags = r.data.tags
        node = tree.setdefault(tags.get("fvc.model_id", ""), {"parents": 0, "folds": {}, "orphans": 0})
        parent = by_id.get(tags.get("mlflow.parentRunId", ""))
        kind = tags.get("fvc.kind")
        if kind == "model":
            node["parents"] += 1
        elif kind == "fold" and parent is not None and parent.data.tags.get("fvc.kind") == "model":
            node["folds"].setdefault(int(tags["fvc.fold"]), 0)
        elif kind == "grid" and parent is not None and parent.data.tags.get("fvc.kind") == "fold":
            fold = int(parent.data.tags["fvc.fold"])
            node["folds"][fold] = node["folds"].get(fold, 0) + 1
        else:
            node["orphans"] += 1
    return tree
