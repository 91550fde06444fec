"""Feature models in the experiment loop: feature tables in, a grouped grid search per fold.

Inside each outer training part a grouped inner search picks the
hyper-parameters (the test fold is touched once, for prediction); the final
model is the same search on every row.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.utils.class_weight import compute_sample_weight

from ..errors import InputError
from ..features.columns import feature_columns
from ..models import ModelEntry
from ..models.saved import FeatureModel, ModelCard, save_feature_model
from ..training.events import TrainObserver
from ..training.preprocess import selected_features
from ..training.search import SearchResult, grouped_search
from ..workspace import Workspace
from .adapter import META_COLUMNS, ExperimentData
from .run_config import RunConfig

EXAMPLE_ROWS = 3


def feature_tables(stages: list[int]) -> list[str]:
    return [f"features_stage{s}" for s in stages] + ["splits"]


def load_feature_rows(ws: Workspace, stages: list[int]) -> tuple[pd.DataFrame, list[str], list[str]]:
    """(rows with META_COLUMNS + feature columns, feature columns, failed video ids).

    Folds, labels and groups come from ``splits`` by source video at load
    time, never from the stage tables, so re-made folds can never be stale.
    """
    if 2 not in stages:
        raise InputError("run config", "feature models need stage 2 features (feature_stages must include 2)")
    if not ws.has("features_stage2"):
        raise InputError(ws.table("features_stage2"), "table not found; run 'fvc features --stage 2' first")
    if not ws.has("splits"):
        raise InputError(ws.table("splits"), "table not found; run 'fvc splits' first")
    df = ws.read("features_stage2")
    cols = feature_columns(df.columns)
    err = df["error"].notna()
    if 4 in stages:
        if not ws.has("features_stage4"):
            raise InputError(ws.table("features_stage4"),
                             "this model needs stage 4 features; run 'fvc scale' and 'fvc features --stage 4'")
        s4 = ws.read("features_stage4")
        c4 = feature_columns(s4.columns)
        s4 = s4[["video_id", "error"] + c4].rename(columns={c: f"s4_{c}" for c in c4} | {"error": "s4_error"})
        if not set(s4["video_id"]) & set(df["video_id"]):
            raise InputError(ws.table("features_stage4"), "no video_id in common with features_stage2; "
                             "re-run 'fvc scale' and 'fvc features --stage 4' on the current stage-1 videos")
        df = df.merge(s4, on="video_id", how="left")
        s4cols = [f"s4_{c}" for c in c4]
        err = err | df["s4_error"].notna() | df[s4cols].isna().all(axis=1)
        cols = cols + s4cols
    splits = ws.read("splits").set_index("video_id")
    src = df["source_video_id"].astype(str)
    df = df.drop(columns=[c for c in ("fold", "label", "group_id") if c in df.columns])
    df["fold"] = src.map(splits["fold"]).fillna(-1).astype(int)
    df["label"] = src.map(splits["label"])
    df["group_id"] = src.map(splits["group_id"].astype(str)).fillna(src)
    keep = df["label"].notna() & (df["fold"] >= 0)
    df, err = df[keep], err[keep]
    frame_cols = [c for c in cols if not c.replace("s4_", "", 1).startswith(("codec_", "is_"))]
    bad = err | df[frame_cols].isna().all(axis=1)
    failed = sorted(df.loc[bad, "video_id"].astype(str))
    df = df[~bad].reset_index(drop=True)
    if df.empty:
        raise InputError(ws.table("features_stage2"), "no labelled rows with features to train on")
    df["label"] = df["label"].astype(int)
    df["video_id"] = df["video_id"].astype(str)
    return df[META_COLUMNS + cols], cols, failed


def sample_weights(y: np.ndarray, class_weight: str | None) -> np.ndarray | None:
    """Per-row weights so each class weighs the same ('balanced'), or None."""
    if class_weight is None:
        return None
    if class_weight != "balanced":
        raise InputError("run config", f"class_weight must be 'balanced' or null, got '{class_weight}'")
    return compute_sample_weight("balanced", y)


def native_importance(est: Any, columns: list[str]) -> pd.Series | None:
    """A booster's own importances, named by the columns that reach it after preprocessing."""
    clf = est.steps[-1][1] if hasattr(est, "steps") else est
    imp = getattr(clf, "feature_importances_", None)
    if imp is None:
        return None
    names = selected_features(est, columns) if hasattr(est, "steps") else columns
    return pd.Series(np.asarray(imp, dtype=float), index=names)


def estimator_params(estimator: Any) -> dict[str, str]:
    """Every parameter of the built estimator, nested steps included, as text: part of the fold-cache key.

    The run config names only the preset and the grid; a builder's defaults (trees, learning rate, a
    preprocessing threshold) decide results too, so folds fitted under other defaults are never reused.
    """
    out = {}
    for name, value in estimator.get_params(deep=True).items():
        if name == "steps" or hasattr(value, "get_params"):
            continue  # a step or nested estimator: its own parameters are listed under 'name__param'
        out[name] = f"{value.__module__}.{value.__qualname__}" if callable(value) else repr(value)
    return out


class FeatureAdapter:
    """``fit_fold``/``predict_fold``/``refit_final`` for scikit-learn models on feature tables."""

    def __init__(self, entry: ModelEntry, ws: Workspace, rc: RunConfig):
        self.entry, self.ws, self.rc = entry, ws, rc
        self.tables = feature_tables(rc.feature_stages)
        self.estimator = entry.build({**entry.preset(rc.preset, rc.params)["model"], "seed": rc.seed})
        self.grid = rc.grid or dict(entry.preset(rc.preset).get("grid", {}))
        self.X: pd.DataFrame | None = None
        self.data: ExperimentData | None = None

    def feature_rows(self) -> tuple[pd.DataFrame, list[str], list[str]]:
        """The rows, feature columns and failed ids this model trains on (the ablation narrows the columns)."""
        return load_feature_rows(self.ws, self.rc.feature_stages)

    def load(self) -> ExperimentData:
        rows, cols, failed = self.feature_rows()
        if failed:
            warnings.warn(f"{self.entry.id}: skipping {len(failed)} video(s) without features (e.g. {failed[0]})",
                          stacklevel=2)
        self.X = rows[cols].astype("float64").set_index(rows["video_id"].rename("row_id"))
        self.data = ExperimentData(meta=rows[META_COLUMNS].copy(), failed_ids=failed)
        return self.data

    def key(self) -> Any:
        return estimator_params(self.estimator)

    def _search(self, pos: np.ndarray, observer: TrainObserver | None = None, fold: int = -1) -> SearchResult:
        d, rc = self.data, self.rc
        y = d.y[pos]
        w = sample_weights(y, rc.class_weight)
        on_point = (lambda p, s: observer.on_search_point(fold, p, s)) if observer is not None else None
        return grouped_search(self.estimator, self.grid, self.X.iloc[pos], y, d.groups[pos],
                              inner_folds=rc.inner_folds, seed=rc.seed, scoring=rc.scoring,
                              fit_params={"clf__sample_weight": w} if w is not None else None, on_point=on_point)

    def fit_fold(self, fold: int, train: np.ndarray, fold_dir: Path, observer: TrainObserver) -> tuple[Any, dict]:
        res = self._search(train, observer, fold)
        return res.estimator, {"best_params": res.best_params, "metrics": {"inner_best_score": res.best_score}}

    def predict_fold(self, fitted: Any, test: np.ndarray, record: dict) -> pd.DataFrame:
        X = self.X.iloc[test]
        prob = fitted.predict_proba(X)[:, 1]
        if self.entry.importance == "permutation":
            y = self.data.y[test]
            if len(np.unique(y)) == 2:
                r = permutation_importance(fitted, X, y, scoring="roc_auc", n_repeats=3, random_state=self.rc.seed,
                                           n_jobs=1)
                record["importance"] = dict(zip(X.columns, r.importances_mean.tolist()))
        meta = self.data.meta.iloc[test]
        return meta[["video_id", "source_video_id", "label"]].assign(prob=prob).reset_index(drop=True)

    def refit_final(self, records: list[dict], final_dir: Path, observer: TrainObserver) -> tuple[Any, dict]:
        res = self._search(np.arange(len(self.data.meta)))
        model = FeatureModel(model_id=self.entry.id, pipeline=res.estimator, columns=list(self.X.columns),
                             stages=list(self.rc.feature_stages), config_hash=self.rc.hash(),
                             input_example=self.X.head(EXAMPLE_ROWS).reset_index(drop=True))
        return model, {"final_params": res.best_params}

    def save_final(self, model: FeatureModel, folder: Path, card: ModelCard) -> Path:
        card.data = self.entry.data_config().as_dict() | {"stages": list(self.rc.feature_stages)}
        return save_feature_model(folder, model, card)

    def summary_extra(self, records: list[dict]) -> dict:
        folds = sorted(int(k) for k in set(self.data.folds.tolist()))
        return {"best_params": {str(k): r.get("best_params") for k, r in zip(self.rc.folds or folds, records)},
                "n_features_in": int(self.X.shape[1]), "feature_stages": list(self.rc.feature_stages)}

    def importance(self, records: list[dict], final: Any) -> pd.DataFrame | None:
        if self.entry.importance == "permutation":
            parts = [pd.Series(r["importance"]) for r in records if r.get("importance")]
            series = pd.concat(parts, axis=1).mean(axis=1) if parts else None
        else:
            series = native_importance(final.pipeline, list(self.X.columns)) if final is not None else None
        if series is None:
            return None
        table = series.rename("importance").rename_axis("feature").reset_index()
        return table.sort_values("importance", ascending=False)
