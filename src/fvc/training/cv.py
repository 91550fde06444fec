"""Grouped cross-validation of the feature models.

Outer folds come from ``splits`` (a row's fold is its source video's fold, so
augmented copies of one video never straddle train and test); inside each
training split a grouped grid search picks hyper-parameters; the test fold is
touched once, for prediction. Results go to the shared result layout.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.utils.class_weight import compute_sample_weight

from ..errors import InputError
from ..features.extract import feature_columns
from ..workspace import Workspace
from .metrics import aggregate_by_video, binary_metrics
from .results import CVResult, build_summary, save_cv_result, save_model, write_importance
from .run_config import TrainContext, data_fingerprint
from .search import grouped_search


@dataclass
class FeatureData:
    """Training rows of the feature tables: X indexed by video_id, aligned metadata."""

    X: pd.DataFrame
    meta: pd.DataFrame  # video_id, source_video_id, fold, label, group_id (same index as X)
    failed_ids: list[str] = field(default_factory=list)

    @property
    def y(self) -> np.ndarray:
        return self.meta["label"].to_numpy(dtype=int)

    @property
    def groups(self) -> np.ndarray:
        return self.meta["group_id"].astype(str).to_numpy()

    @property
    def folds(self) -> np.ndarray:
        return self.meta["fold"].to_numpy(dtype=int)


def feature_tables(stages: list[int]) -> list[str]:
    return [f"features_stage{s}" for s in stages] + ["splits"]


def load_feature_data(ws: Workspace, stages: list[int]) -> FeatureData:
    """Join the stage tables, keep labelled rows with a fold, set failed rows aside."""
    if 2 not in stages:
        raise InputError("run config", "feature models need stage 2 features (feature_stages must include 2)")
    if not ws.has("features_stage2"):
        raise InputError(ws.table("features_stage2"), "table not found; run 'fvc features --stage 2' first")
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
    df = df[df["label"].notna() & (df["fold"] >= 0)].copy()
    err = err.loc[df.index]
    frame_cols = [c for c in cols if not c.replace("s4_", "", 1).startswith(("codec_", "is_"))]
    bad = err | df[frame_cols].isna().all(axis=1)
    failed = sorted(df.loc[bad, "video_id"].astype(str))
    df = df[~bad]
    if df.empty:
        raise InputError(ws.table("features_stage2"), "no labelled rows with features to train on")
    if ws.has("splits"):
        groups = ws.read("splits").set_index("video_id")["group_id"].astype(str)
        df["group_id"] = df["source_video_id"].map(groups).fillna(df["source_video_id"]).astype(str)
    else:
        df["group_id"] = df["source_video_id"].astype(str)
    df = df.set_index(df["video_id"].astype(str).rename("row_id"))
    meta = df[["video_id", "source_video_id", "fold", "label", "group_id"]].copy()
    meta["label"] = meta["label"].astype(int)
    return FeatureData(X=df[cols].astype("float64"), meta=meta, failed_ids=failed)


def sample_weights(y: np.ndarray, class_weight: str | None) -> np.ndarray | None:
    """Per-row weights so each class weighs the same ('balanced'), or None."""
    if class_weight is None:
        return None
    if class_weight != "balanced":
        raise InputError("run config", f"class_weight must be 'balanced' or null, got '{class_weight}'")
    return compute_sample_weight("balanced", y)


def _importance(est: Any, X: pd.DataFrame, y: np.ndarray, seed: int) -> pd.Series | None:
    if len(np.unique(y)) < 2:
        return None
    r = permutation_importance(est, X, y, scoring="roc_auc", n_repeats=3, random_state=seed, n_jobs=1)
    return pd.Series(r.importances_mean, index=X.columns)


def native_importance(est: Any, columns: list[str]) -> pd.Series | None:
    """A booster's own importances, named by the columns that reach it after preprocessing."""
    from .preprocess import selected_features

    clf = est.steps[-1][1] if hasattr(est, "steps") else est
    imp = getattr(clf, "feature_importances_", None)
    if imp is None:
        return None
    names = selected_features(est, columns) if hasattr(est, "steps") else columns
    return pd.Series(np.asarray(imp, dtype=float), index=names)


def run_feature_cv(ctx: TrainContext, estimator: Any, importance: str = "permutation") -> CVResult:
    """Outer grouped CV + inner grid search + refit on all rows for one feature model."""
    rc, spec, obs, ws = ctx.run_config, ctx.spec, ctx.observers, ctx.ws
    chash = rc.hash()
    data = load_feature_data(ws, rc.feature_stages)
    grid = rc.grid or dict(spec.default_grid)
    obs.on_run_start(spec.id, rc, data_fingerprint(ws, feature_tables(rc.feature_stages)))
    try:
        if data.failed_ids:
            warnings.warn(f"{spec.id}: skipping {len(data.failed_ids)} video(s) without features "
                          f"(e.g. {data.failed_ids[0]})", stacklevel=2)
        all_folds = sorted(set(data.folds.tolist()))
        folds = rc.folds if rc.folds is not None else all_folds
        unknown = sorted(set(folds) - set(all_folds))
        if unknown:
            raise InputError("--folds", f"fold(s) {unknown} not in splits (have {all_folds})")
        oof_parts, fold_metrics, best_params, imps = [], [], {}, []
        for k in folds:
            obs.on_fold_start(k)
            tr, te = data.folds != k, data.folds == k
            Xtr, ytr = data.X[tr], data.y[tr]
            w = sample_weights(ytr, rc.class_weight)
            res = grouped_search(estimator, grid, Xtr, ytr, data.groups[tr], inner_folds=rc.inner_folds,
                                 seed=rc.seed, scoring=rc.scoring,
                                 fit_params={"clf__sample_weight": w} if w is not None else None,
                                 on_point=lambda p, s, k=k: obs.on_search_point(k, p, s))
            best_params[str(k)] = res.best_params
            prob = res.estimator.predict_proba(data.X[te])[:, 1]
            part = data.meta[te][["video_id", "source_video_id", "fold", "label"]].assign(prob=prob)
            oof_parts.append(part)
            scored = aggregate_by_video(part) if rc.video_level else part
            m = {"fold": int(k), **binary_metrics(scored["label"], scored["prob"], rc.threshold),
                 "inner_best_score": res.best_score}
            fold_metrics.append(m)
            if importance == "permutation":
                imp = _importance(res.estimator, data.X[te], data.y[te], rc.seed)
                if imp is not None:
                    imps.append(imp)
            obs.on_fold_end(k, m, {})
        oof = pd.concat(oof_parts, ignore_index=True)
        summary = build_summary(spec.id, oof, config_hash=chash, run_config=rc, spec=spec,
                                video_level=rc.video_level, threshold=rc.threshold,
                                n_failed_videos=len(data.failed_ids), failed_video_ids=data.failed_ids,
                                extra={"best_params": best_params, "n_features_in": data.X.shape[1],
                                       "feature_stages": rc.feature_stages})
        final_path, final_est = None, None
        if rc.refit_final:
            w = sample_weights(data.y, rc.class_weight)
            final = grouped_search(estimator, grid, data.X, data.y, data.groups, inner_folds=rc.inner_folds,
                                   seed=rc.seed, scoring=rc.scoring,
                                   fit_params={"clf__sample_weight": w} if w is not None else None)
            final_est = final.estimator
            summary["extra"]["final_params"] = final.best_params
            from ..models.feature_models import FeatureModel

            bundle = FeatureModel(model_id=spec.id, pipeline=final_est, columns=list(data.X.columns),
                                  stages=list(rc.feature_stages), config_hash=chash)
            final_path = save_model(ws, spec.id, bundle, chash,
                                    meta={"stages": rc.feature_stages, "columns": list(data.X.columns)})
        arts = save_cv_result(ws, summary, oof, run_config=rc, final_model_path=final_path)
        imp_series = None
        if importance == "permutation" and imps:
            imp_series = pd.concat(imps, axis=1).mean(axis=1)
        elif importance == "native" and final_est is not None:
            imp_series = native_importance(final_est, list(data.X.columns))
        if imp_series is not None:
            table = imp_series.rename("importance").rename_axis("feature").reset_index()
            table = table.sort_values("importance", ascending=False)
            arts["feature_importance"] = write_importance(ws, spec.id, table)
        result = CVResult(model_id=spec.id, config_hash=chash, fold_metrics=fold_metrics,
                          mean=summary["mean"], std=summary["std"], oof=oof,
                          n_failed_videos=len(data.failed_ids), final_model_path=final_path,
                          result_dir=arts["metrics"].parent, summary=summary, artifacts=arts)
        obs.on_run_end(summary, final_path, arts)
        return result
    except BaseException as exc:
        obs.on_run_error(spec.id, exc)
        raise
