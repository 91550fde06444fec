"""MLflow observer against the real library: a sqlite store in a temp workspace."""

from __future__ import annotations

import contextlib
import io

import os

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fvc.analytics import connect
from fvc.training.events import CompositeObserver
from fvc.config import FvcConfig, stable_hash
from fvc.experiment import RunConfig
from fvc.experiment.result_files import build_summary, save_cv_result
from fvc.models.saved import FeatureModel, ModelCard, save_feature_model
from fvc.tracking.jsonl_log import JsonlObserver, read_log
from fvc.tracking.mlflow_observer import MlflowObserver, flatten_params
from fvc.tracking.mlflow_store import open_store, resolve_tracking_uri
from fvc.workspace import Workspace

FEATURES = ["noise_mean", "blur_var", "dct_hf"]


def make_workspace(root) -> Workspace:
    ws = Workspace(root).ensure()
    rng = np.random.default_rng(0)
    n = 30
    label = np.array([1, 0] * (n // 2))
    feats = pd.DataFrame(rng.normal(size=(n, 3)), columns=FEATURES)
    feats["noise_mean"] += 1.5 * label
    feats.insert(0, "video_id", [f"v{i}" for i in range(n)])
    feats["source_video_id"] = feats["video_id"]
    feats["fold"] = np.arange(n) % 3
    feats["label"] = label
    feats["error"] = None
    ws.write("features_stage2", feats)
    ws.write("splits", feats[["video_id", "fold", "label"]].assign(group_id=feats["video_id"]))
    return ws


def simulate_run(ws: Workspace, observer, model_id: str = "5a", grid=(0.1, 1.0), epochs: int = 2):
    """Emit the events a CV trainer emits, writing results with the shared result layout."""
    rc = RunConfig(model=model_id, grid={"C": list(grid)})
    feats = ws.read("features_stage2")
    tables = ws.fingerprints(["features_stage2", "splits"])
    observer.on_run_start(model_id, rc, stable_hash(tables), tables)
    oof = []
    for fold in sorted(feats["fold"].unique()):
        observer.on_fold_start(int(fold))
        train, test = feats[feats.fold != fold], feats[feats.fold == fold]
        for c in grid:
            observer.on_search_point(int(fold), {"C": c}, 0.6 + c / 10)
        for epoch in range(epochs):
            observer.on_epoch_end(int(fold), epoch, {"train_loss": 1.0 / (epoch + 1), "val_auc": 0.5 + epoch / 10})
        m = make_pipeline(StandardScaler(), LogisticRegression(C=grid[-1])).fit(train[FEATURES], train.label)
        part = test[["video_id", "source_video_id", "fold", "label"]].copy()
        part["prob"] = m.predict_proba(test[FEATURES])[:, 1]
        oof.append(part)
        observer.on_fold_end(int(fold), {"roc_auc": 0.8 + fold / 100, "accuracy": 0.7, "n": len(part)}, {})
    oof = pd.concat(oof, ignore_index=True)
    final = make_pipeline(StandardScaler(), LogisticRegression()).fit(feats[FEATURES], feats.label)
    summary = build_summary(model_id, oof, config_hash=rc.hash(), run_config=rc)
    cfg = FvcConfig()
    card = ModelCard(model_id=model_id, name="logreg", family="features", preset="full",
                     data={"kind": "features", "stages": [2]}, features=cfg.features.model_dump(),
                     scale=cfg.scale.model_dump(), config_hash=rc.hash(), data_fingerprint=stable_hash(tables))
    model = FeatureModel(model_id, final, FEATURES, [2], rc.hash(), input_example=feats[FEATURES].head(3))
    path = save_feature_model(ws.results_dir / model_id, model, card)
    arts = save_cv_result(ws, summary, oof, rc, path)
    observer.on_run_end(summary, path, arts)
    return rc, summary


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    """One store, one tracked run for the whole module (sqlite init costs seconds)."""
    ws = make_workspace(tmp_path_factory.mktemp("ws"))
    store = open_store(ws)
    said: list[str] = []
    mlf = MlflowObserver(ws, store=store, say=said.append)
    jsonl = JsonlObserver(ws)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc, summary = simulate_run(ws, CompositeObserver([mlf, jsonl]))
    CHATTER.update(said=said, stderr=err.getvalue())
    return ws, store, mlf, jsonl, rc, summary


CHATTER: dict = {}  # what the tracked run printed


def test_store_stays_in_workspace(tracked, monkeypatch, tmp_path):
    ws, store, *_ = tracked
    assert store.uri == f"sqlite:///{ws.root}/mlflow.db" and (ws.root / "mlflow.db").exists()
    exp = store.client.get_experiment(store.experiment_id)
    assert exp.artifact_location == (ws.root / "mlruns").as_uri()
    assert (ws.root / "mlruns").is_dir()
    assert not (ws.root.parent / "mlruns").exists() and not (ws.root.parent / "mlflow.db").exists()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    assert resolve_tracking_uri(ws) == "http://127.0.0.1:9"
    assert resolve_tracking_uri(ws, "sqlite:////x/y.db") == "sqlite:////x/y.db"
    assert resolve_tracking_uri(ws, str(tmp_path / "store")) == (tmp_path / "store").as_uri()


def test_parent_run_params_tags_metrics(tracked):
    ws, store, mlf, _, rc, summary = tracked
    runs = store.client.search_runs([store.experiment_id], "tags.`fvc.kind` = 'model'")
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED" and run.info.run_name == "5a"
    p = run.data.params
    assert p["model"] == "5a" and p["config_hash"] == rc.hash() and p["grid.C"] == "[0.1, 1.0]"
    tables = ws.fingerprints(["features_stage2", "splits"])
    assert p["data_fingerprint"] == stable_hash(tables)
    assert p["data.features_stage2"] == tables["features_stage2"] and len(tables["features_stage2"]) == 12
    t = run.data.tags
    assert t["fvc.version"] == "0.1.0" and len(t["fvc.git_commit"]) >= 7
    m = run.data.metrics
    assert m["roc_auc_mean"] == pytest.approx(summary["mean"]["roc_auc"])
    assert m["roc_auc_std"] == pytest.approx(summary["std"]["roc_auc"])
    assert "pooled_roc_auc" in m and m["n_videos"] == 30
    assert 0 < m["log_model_seconds"]
    print(f"\nlog_model: {m['log_model_seconds']:.3f} s")
    arts = {a.path for a in store.client.list_artifacts(run.info.run_id)}
    assert {"metrics.json", "oof_predictions.parquet", "run_config.yaml", "plots"} <= arts
    plots = {a.path for a in store.client.list_artifacts(run.info.run_id, "plots")}
    assert plots == {"plots/roc.png", "plots/confusion_matrix.png"}
    fold_auc = store.client.get_metric_history(run.info.run_id, "fold_roc_auc")
    assert sorted((x.step, round(x.value, 3)) for x in fold_auc) == [(0, 0.8), (1, 0.81), (2, 0.82)]


def test_nested_fold_and_grid_runs(tracked):
    ws, store, *_ = tracked
    parent = store.client.search_runs([store.experiment_id], "tags.`fvc.kind` = 'model'")[0]
    folds = store.client.search_runs([store.experiment_id], "tags.`fvc.kind` = 'fold'")
    assert len(folds) == 3
    assert {r.data.tags["mlflow.parentRunId"] for r in folds} == {parent.info.run_id}
    fold0 = next(r for r in folds if r.data.tags["fvc.fold"] == "0")
    assert fold0.data.metrics["roc_auc"] == pytest.approx(0.8) and fold0.data.params["fold"] == "0"
    hist = store.client.get_metric_history(fold0.info.run_id, "train_loss")
    assert [(h.step, h.value) for h in sorted(hist, key=lambda h: h.step)] == [(0, 1.0), (1, 0.5)]
    grid = store.client.search_runs([store.experiment_id], "tags.`fvc.kind` = 'grid'")
    assert len(grid) == 6  # 2 points x 3 folds
    g = [r for r in grid if r.data.tags["mlflow.parentRunId"] == fold0.info.run_id]
    assert sorted(r.data.params["C"] for r in g) == ["0.1", "1.0"]
    assert all(r.info.status == "FINISHED" for r in folds + grid)


def test_registered_version_and_runs_table(tracked):
    ws, store, mlf, *_ = tracked
    lm = mlf.logged_model
    assert lm.name == "fvc-5a" and lm.version == "1"
    mv = store.client.get_model_version("fvc-5a", "1")
    assert float(mv.tags["cv_roc_auc"]) > 0.5
    # the exported runs table is queryable through the analytics views
    with connect(ws) as an:
        df = an.sql("SELECT kind, count(*) AS n FROM mlflow_runs GROUP BY kind ORDER BY kind")
    assert dict(zip(df["kind"], df["n"])) == {"fold": 3, "grid": 6, "model": 1}
    # MLflow's registry chatter is silenced; the project says it once, with the version to load
    assert "Successfully registered" not in CHATTER["stderr"] and "Created version" not in CHATTER["stderr"]
    assert CHATTER["said"] == ["registered fvc-5a version 1 (models:/fvc-5a/1)"]


def test_jsonl_log(tracked):
    ws, _, _, jsonl, rc, _ = tracked
    events = read_log(jsonl.path)
    names = [e["event"] for e in events]
    assert names[0] == "run_start" and names[-1] == "run_end"
    assert names.count("fold_end") == 3 and names.count("search_point") == 6 and names.count("epoch_end") == 6
    assert events[0]["data"]["config_hash"] == rc.hash()
    grid = [e["grid_index"] for e in events if e["event"] == "search_point" and e["fold"] == 1]
    assert grid == [0, 1]
    with connect(ws) as an:
        df = an.sql("SELECT * FROM experiment_log WHERE event = 'epoch_end' AND fold = 2 ORDER BY epoch")
    assert df["epoch"].tolist() == [0, 1]


def test_failed_run_is_marked(tracked):
    ws, store, *_ = tracked
    obs = MlflowObserver(ws, store=store, export=False)
    obs.on_run_start("5b", RunConfig(model="5b"), "abc")
    obs.on_fold_start(0)
    obs.on_run_error("5b", RuntimeError("boom"))
    run = store.client.search_runs([store.experiment_id], "tags.`fvc.model_id` = '5b'")
    status = {r.data.tags["fvc.kind"]: r.info.status for r in run}
    assert status == {"model": "FAILED", "fold": "FAILED"}
    parent = next(r for r in run if r.data.tags["fvc.kind"] == "model")
    assert parent.data.tags["fvc.error"] == "RuntimeError: boom"


def test_flatten_params_limits():
    flat = flatten_params({"a": {"b": [1, 2]}, "c": "x" * 7000, "d": None, "e": {}})
    assert flat["a.b"] == "[1, 2]" and len(flat["c"]) == 6000 and flat["d"] == "null" and flat["e"] == "{}"



def test_final_refit_epochs_go_to_a_final_run(tracked):
    ws, store, *_ = tracked
    obs = MlflowObserver(ws, store=store, export=False, register=False)
    obs.on_run_start("5c", RunConfig(model="5c"), "abc")
    obs.on_fold_start(0)
    obs.on_epoch_end(0, 0, {"loss": 0.5})
    obs.on_fold_end(0, {"roc_auc": 0.6}, {"checkpoint_dir": ws.root / "ckpt"})
    obs.on_epoch_end(-1, 0, {"loss": 0.4})
    # a final model file that is neither model.joblib nor model.pt is referenced by path, not logged
    obs.on_run_end({"mean": {"roc_auc": 0.6}, "std": {"roc_auc": 0.0}}, ws.root / "model.onnx", {})
    runs = store.client.search_runs([store.experiment_id], "tags.`fvc.model_id` = '5c'")
    by_kind = {r.data.tags["fvc.kind"]: r for r in runs}
    assert set(by_kind) == {"model", "fold", "final"}
    assert all(r.info.status == "FINISHED" for r in runs)
    assert by_kind["final"].data.metrics["loss"] == 0.4
    assert by_kind["fold"].data.tags["fvc.checkpoint_dir"] == str(ws.root / "ckpt")
    assert by_kind["model"].data.tags["fvc.final_model"] == str(ws.root / "model.onnx")


def test_second_workspace_gets_its_own_store(tracked, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    ws2 = Workspace(tmp_path / "other").ensure()
    assert resolve_tracking_uri(ws2) == f"sqlite:///{ws2.root}/mlflow.db"  # not the store opened before
    assert "MLFLOW_TRACKING_URI" not in os.environ
