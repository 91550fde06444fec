"""MLflow runs exported to ``tables/mlflow_runs.parquet`` so SQL can join them.

DuckDB cannot read MLflow's store directly (and a remote server has no file);
one flat table per experiment is what ``fvc query`` needs.
"""

from __future__ import annotations

import pandas as pd

from ..workspace import Workspace
from .mlflow_store import TrackingStore

TABLE = "mlflow_runs"
FRONT = ["run_id", "run_name", "model_id", "kind", "fold", "grid_index", "parent_run_id", "status",
         "start_time", "end_time"]


def runs_frame(store: TrackingStore) -> pd.DataFrame:
    """Every run of the store's experiment, one row each, with fvc's tags as plain columns."""
    import mlflow

    df = mlflow.search_runs(experiment_ids=[store.experiment_id], output_format="pandas", max_results=100000)
    if df.empty:
        return df
    renames = {"tags.mlflow.runName": "run_name", "tags.fvc.model_id": "model_id", "tags.fvc.kind": "kind",
               "tags.mlflow.parentRunId": "parent_run_id"}
    for src, dst in renames.items():
        df[dst] = df[src] if src in df.columns else None
    none = pd.Series(None, index=df.index, dtype=object)  # deep runs have no grid points: the tag may be absent
    df["fold"] = pd.to_numeric(df.get("tags.fvc.fold", none), errors="coerce").astype("Int64")
    df["grid_index"] = pd.to_numeric(df.get("tags.fvc.grid_index", none), errors="coerce").astype("Int64")
    for col in ("start_time", "end_time"):
        if col in df.columns:
            df[col] = pd.to_datetime(df[col], utc=True)
    return df[[c for c in FRONT if c in df.columns] + [c for c in df.columns if c not in FRONT]]


def export_runs(ws: Workspace, store: TrackingStore) -> int:
    """Write the runs table into the workspace; returns the number of runs."""
    df = runs_frame(store)
    ws.write(TABLE, df)
    return len(df)
