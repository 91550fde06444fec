import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from fvc.config import FvcConfig
from fvc.experiment import RunConfig, run_experiment
from fvc.experiment import feature_adapter
from fvc.experiment.feature_adapter import load_feature_rows
from fvc.experiment.result_files import read_metrics, read_oof
from fvc.features.extract import feature_names
from fvc.models import catalog
from fvc.models.catalog import ModelEntry
from fvc.models.feature_zoo import STAGE2
from fvc.training.events import RecordingObserver, TrainObserver
from fvc.training.preprocess import build_preprocessor
from fvc.workspace import Workspace

NAMES = feature_names()[:8]


def make_ws(root, n=60, copies=1, signal=2.0, seed=0, shuffle=False):
    """A features table + splits: n source videos, ``copies`` rows each, first 3 features carry the label."""
    ws = Workspace(root).ensure()
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    true = labels.copy()
    if shuffle:
        labels = rng.permutation(labels)
    rows, splits = [], []
    for i in range(n):
        g, fold = f"g{i // 2}", (i // 2) % 5
        splits.append({"video_id": f"v{i}", "cascade_id": g, "group_id": g, "label": labels[i], "fold": fold})
        base = rng.normal(size=len(NAMES))
        base[:3] += signal * true[i]
        for c in range(copies):
            x = base + rng.normal(scale=0.3, size=len(NAMES))
            rows.append({"video_id": f"v{i}_{c}", "source_video_id": f"v{i}", "fold": fold, "label": labels[i],
                         **dict(zip(NAMES, x)), "error": None})
    df = pd.DataFrame(rows)
    df["label"] = df["label"].astype("Int64")
    sp = pd.DataFrame(splits)
    sp["label"] = sp["label"].astype("Int64")
    ws.write("features_stage2", df)
    ws.write("splits", sp)
    return ws


class FitSpy(TransformerMixin, BaseEstimator):
    """Records the row ids of every fit, tagged with the outer fold being run."""

    log: list = []
    current = {"fold": None}

    def fit(self, X, y=None, **kw):
        FitSpy.log.append((FitSpy.current["fold"], set(X.index)))
        return self

    def transform(self, X):
        return X


class FoldTracker(TrainObserver):
    def on_fold_start(self, fold):
        FitSpy.current["fold"] = fold

    def on_fold_end(self, fold, metrics, artifacts):
        FitSpy.current["fold"] = "final"


def _run(ws, model="5a", observers=(), **rc):
    return run_experiment(ws, FvcConfig(), RunConfig(model=model, **rc), list(observers))


def register_test_model(monkeypatch, model_id: str, builder) -> None:
    """A catalog entry that lives for one test: the loop builds whatever the catalog says."""
    entry = ModelEntry(model_id, model_id, "features", builder, {"full": {"model": {}, "grid": {}}}, STAGE2,
                       "test model")
    monkeypatch.setitem(catalog._CATALOG, model_id, entry)


def test_preprocessing_and_search_never_see_the_test_fold(tmp_path, monkeypatch):
    """Every fit (preprocessing included) of the outer folds, their inner searches and the final model's search:
    no test-fold row reaches one, and each inner search split is grouped, so no cascade group has rows on both
    sides (2 videos x 2 copies per group here: an ungrouped inner split would cut most groups)."""
    ws = make_ws(tmp_path / "ws", n=60, copies=2)
    FitSpy.log.clear()
    register_test_model(monkeypatch, "spy", lambda *, seed: Pipeline(
        [("spy", FitSpy())] + build_preprocessor() + [("clf", LogisticRegression(max_iter=500))]))
    _run(ws, model="spy", observers=[FoldTracker()], grid={"clf__C": [0.1, 1.0]})
    rows, _, _ = load_feature_rows(ws, [2])
    test_ids = {k: set(rows["video_id"][rows["fold"] == k]) for k in range(5)}
    n_rows = len(rows)
    cv_fits = [(f, ids) for f, ids in FitSpy.log if f != "final"]
    # per outer fold: 2 grid points x 3 inner folds + 1 refit on the training folds
    assert len(cv_fits) == 5 * (2 * 3 + 1)
    for fold, ids in cv_fits:
        assert not ids & test_ids[fold], f"fold {fold}: a fit saw test rows"
    refits = [ids for f, ids in cv_fits if len(ids) == n_rows - len(test_ids[f])]
    assert len(refits) == 5
    # the final model (after CV) is the only fit allowed to see every row
    assert any(len(ids) == n_rows for f, ids in FitSpy.log if f == "final")

    # inner search folds: the rows of the search's part that a fit did not get are its inner validation rows
    group_of = dict(zip(rows["video_id"], rows["group_id"]))
    part = {k: set(rows["video_id"]) - test_ids[k] for k in range(5)} | {"final": set(rows["video_id"])}
    inner = [(f, ids) for f, ids in FitSpy.log if len(ids) < len(part[f])]
    assert len(inner) == 6 * 2 * 3  # 5 outer folds + the final model, 2 grid points x 3 inner folds each
    for f, ids in inner:
        val = part[f] - ids
        assert val, f"fold {f}: an inner fit saw its whole search part"
        shared = {group_of[i] for i in ids} & {group_of[i] for i in val}
        assert not shared, f"fold {f}: inner validation groups {sorted(shared)[:3]} reached an inner fit"
    for f in part:  # each row of a search part is inner-validated exactly once per grid point
        vals = [part[f] - ids for g, ids in inner if g == f]
        assert sum(len(v) for v in vals) == 2 * len(part[f])


def test_fold_models_imputer_statistics_come_from_training_rows(tmp_path, monkeypatch):
    ws = make_ws(tmp_path / "ws", n=40)
    df = ws.read("features_stage2")
    # a wildly different value only in fold 0 rows: would shift a leaking median
    df.loc[df["fold"] == 0, NAMES[5]] = 1e6
    df.loc[df.index[::3], NAMES[5]] = np.nan
    ws.write("features_stage2", df)
    seen = []
    orig = feature_adapter.grouped_search

    def spy(*a, **kw):
        res = orig(*a, **kw)
        seen.append(res.estimator.named_steps["impute"].statistics_[5])
        return res

    monkeypatch.setattr(feature_adapter, "grouped_search", spy)
    register_test_model(monkeypatch, "plain-lr", lambda *, seed: Pipeline(build_preprocessor() + [
        ("clf", LogisticRegression())]))
    _run(ws, model="plain-lr", grid={})
    assert len(seen) == 6  # 5 fold models + the final model
    assert seen[0] < 1e5  # the fold-0 model's median comes from folds 1-4 only
    train0 = df[df["fold"] != 0][NAMES[5]]
    assert seen[0] == pytest.approx(train0.median())


def test_shuffled_labels_give_chance_auc(tmp_path):
    ws = make_ws(tmp_path / "ws", n=400, shuffle=True, seed=3)
    res = _run(ws, grid={"clf__C": [1.0]})
    assert res.summary["pooled"]["roc_auc"] == pytest.approx(0.5, abs=0.1)
    assert res.mean["roc_auc"] == pytest.approx(0.5, abs=0.1)


def test_signal_is_found_and_results_layout(tmp_path):
    ws = make_ws(tmp_path / "ws", n=60, copies=3)
    rec = RecordingObserver()
    res = _run(ws, observers=[rec], grid={"clf__C": [0.1, 1.0]})
    assert res.mean["roc_auc"] > 0.9
    m = read_metrics(ws, "5a")
    assert m["level"] == "video" and m["n_rows"] == 180 and m["n_videos"] == 60
    assert sum(f["n"] for f in m["folds"]) == 60  # copies aggregated: each source video counted once
    assert m["config_hash"] == res.config_hash and m["final_model"] == "model.joblib"
    oof = read_oof(ws, "5a")
    assert set(oof.columns) >= {"video_id", "source_video_id", "fold", "label", "prob"} and len(oof) == 180
    names = rec.names()
    assert names[0] == "run_start" and names[-1] == "run_end"
    assert names.count("fold_start") == 5 and names.count("search_point") == 10
    assert (tmp_path / "ws" / "results" / "5a" / "feature_importance.csv").exists()


def test_failed_rows_are_skipped_warned_and_counted(tmp_path):
    ws = make_ws(tmp_path / "ws", n=40)
    df = ws.read("features_stage2")
    df.loc[0, "error"] = "v0.mp4: decode failed"
    df.loc[0, NAMES] = np.nan
    df.loc[1, NAMES] = np.nan  # no error text but nothing extracted
    ws.write("features_stage2", df)
    with pytest.warns(UserWarning, match="skipping 2 video"):
        res = _run(ws, grid={})
    m = json.loads((res.result_dir / "metrics.json").read_text())
    assert m["n_failed_videos"] == 2 and m["failed_video_ids"] == ["v0_0", "v1_0"]


def test_unknown_fold_and_missing_table_errors(tmp_path):
    from fvc.errors import InputError

    ws = make_ws(tmp_path / "ws", n=40)
    with pytest.raises(InputError, match=r"fold\(s\) \[7\] not in splits \(have \[0, 1, 2, 3, 4\]\)"):
        _run(ws, folds=[7])
    with pytest.raises(InputError, match="fvc features --stage 4"):
        _run(ws, model="5alpha", feature_stages=[2, 4])


def test_finished_folds_are_not_refitted_unless_forced(tmp_path, monkeypatch):
    ws = make_ws(tmp_path / "ws", n=40)
    calls = []
    orig = feature_adapter.grouped_search

    def spy(est, grid, X, *a, **kw):
        calls.append(len(X))
        return orig(est, grid, X, *a, **kw)

    monkeypatch.setattr(feature_adapter, "grouped_search", spy)
    first = _run(ws, grid={})
    assert len(calls) == 6  # 5 folds + the final refit
    calls.clear()
    again = _run(ws, grid={})
    assert calls == [40]  # only the final refit; every fold's predictions came from its saved result
    pd.testing.assert_frame_equal(first.oof, again.oof)
    calls.clear()
    run_experiment(ws, FvcConfig(), RunConfig(model="5a", grid={}), [], force=True)
    assert len(calls) == 6


def test_remade_folds_reach_training_even_when_stage_tables_keep_old_ones(tmp_path):
    """The features table still says fold 0-4; splits now has 2 folds: training must use the 2 folds."""
    ws = make_ws(tmp_path / "ws", n=40)
    _run(ws, grid={})
    sp = ws.read("splits")
    sp["fold"] = (sp.index // 2) % 2  # pairs are one group (one real, one fake)
    ws.write("splits", sp)
    res = _run(ws, grid={})
    assert sorted(res.oof["fold"].unique()) == [0, 1] and len(res.fold_metrics) == 2
    truth = dict(zip(sp["video_id"], sp["fold"]))
    assert (res.oof["source_video_id"].map(truth) == res.oof["fold"]).all()
