"""The experiment loop's own contract, on a spy adapter (no model is fitted, so each test takes about a second):
which rows reach each fit, the OOF predictions and ``metrics.json`` recomputed from them, fold resume under
``artifacts/cv/<id>/<run key>/`` and what changes the run key, ``force``, the observer's events in order, the
final refit and its card, ``experiment_folds``/``run_experiment_fold``, and the fold checks' errors.

The spy serves the probabilities of a table the test wrote, so every number the loop reports can be
recomputed here from that table; what the loop does with the adapter is what is under test.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from fvc.config import FvcConfig, stable_hash
from fvc.errors import InputError
from fvc.experiment import RunConfig, experiment_folds, loop, run_experiment, run_experiment_fold
from fvc.experiment.adapter import ExperimentData
from fvc.experiment.ensemble_adapter import EnsembleAdapter
from fvc.experiment.feature_adapter import FeatureAdapter
from fvc.features.extract import feature_names
from fvc.models import catalog, get_model
from fvc.models.catalog import ModelEntry
from fvc.models.feature_zoo import STAGE2
from fvc.models.saved import ModelCard
from fvc.models.training_summary import summarize
from fvc.training.events import RecordingObserver
from fvc.training.metrics import binary_metrics
from fvc.workspace import Workspace

MODEL = "spy-loop"
TABLE = "spy_rows"
FEATS = feature_names()[:3]


class SpyAdapter:
    """Rows and probabilities from the ``spy_rows`` table; logs every call the loop makes."""

    calls: list = []  # (what, fold or None, video ids or args)
    cards: list = []
    fail_fold: int | None = None
    key_value: str = "k1"
    with_importance = True

    def __init__(self, entry, ws, rc):
        self.entry, self.ws, self.rc = entry, ws, rc
        self.tables = [TABLE]
        self.config_hash = rc.hash()  # what a real adapter reads from its run config

    def load(self) -> ExperimentData:
        rows = self.ws.read(TABLE)
        self.rows = rows[rows["error"].isna()].reset_index(drop=True)
        meta = self.rows[["video_id", "source_video_id", "fold", "label", "group_id"]].copy()
        return ExperimentData(meta=meta, failed_ids=sorted(rows.loc[rows["error"].notna(), "video_id"]))

    def key(self):
        return SpyAdapter.key_value

    def fit_fold(self, fold, train, fold_dir, observer):
        if fold == SpyAdapter.fail_fold:
            raise RuntimeError(f"fit of fold {fold} broke")
        ids = set(self.rows["video_id"].iloc[train])
        SpyAdapter.calls.append(("fit", fold, ids))
        observer.on_epoch_end(fold, 0, {"loss": float(fold)})
        if fold == 1:  # a record may carry no metrics of its own
            return ids, {"fold": fold}
        return ids, {"fold": fold, "metrics": {"inner_best_score": 0.5 + fold / 100}}

    def predict_fold(self, fitted, test, record):
        SpyAdapter.calls.append(("predict", record["fold"], set(self.rows["video_id"].iloc[test])))
        return self.rows.iloc[test][["video_id", "source_video_id", "label", "prob"]].reset_index(drop=True)

    def refit_final(self, records, final_dir, observer):
        SpyAdapter.calls.append(("refit", None, ([r["fold"] for r in records], final_dir)))
        observer.on_epoch_end(-1, 0, {"loss": 0.0})
        return {"rows": len(self.rows)}, {"final_params": {"C": 1.0}}

    def save_final(self, model, folder, card):
        SpyAdapter.cards.append(card)
        folder.mkdir(parents=True, exist_ok=True)
        card.save(folder)
        path = folder / "model.spy"
        path.write_text(json.dumps(model))
        return path

    def summary_extra(self, records):
        return {"record_folds": [r["fold"] for r in records]}

    def importance(self, records, final):
        if not SpyAdapter.with_importance:
            return None
        rows = final["rows"] if final is not None else 0
        return pd.DataFrame({"feature": ["a", "b"], "importance": [float(rows), float(len(records))]})


@pytest.fixture(autouse=True)
def spy(monkeypatch):
    """The catalog entry ``spy-loop`` (family deep: its presets check parameters) built with the spy adapter,
    reset per test."""
    entry = ModelEntry(MODEL, "Spy model", "deep", lambda **kw: None, {"full": {"model": {}}}, STAGE2,
                       "loop contract spy")
    monkeypatch.setitem(catalog._CATALOG, MODEL, entry)
    monkeypatch.setitem(loop.ADAPTERS, "deep", SpyAdapter)
    SpyAdapter.calls, SpyAdapter.cards = [], []
    SpyAdapter.fail_fold, SpyAdapter.key_value, SpyAdapter.with_importance = None, "k1", True
    return SpyAdapter


def make_ws(root: Path, n: int = 16, folds: int = 4, copies: int = 2, failed: int = 1, seed: int = 0) -> Workspace:
    """``n`` source videos (labels alternate) in ``folds`` folds, ``copies`` rows each with a random prob,
    plus ``failed`` rows with an error; and a stage-2 features table of the same videos (the card's summary)."""
    ws = Workspace(root).ensure()
    rng = np.random.default_rng(seed)
    rows, feats = [], []
    for i in range(n):
        label, fold = i % 2, (i // 2) % folds
        for c in range(copies):
            rows.append({"video_id": f"v{i}_{c}", "source_video_id": f"v{i}", "fold": fold, "label": label,
                         "group_id": f"g{i // 2}", "prob": float(rng.uniform(0.05, 0.95)), "error": None})
        feats.append({"video_id": f"v{i}_0", "source_video_id": f"v{i}", "error": None,
                      **dict(zip(FEATS, rng.normal(size=3) + 3 * label))})
    for j in range(failed):
        rows.append({"video_id": f"bad{j}", "source_video_id": f"bad{j}", "fold": 0, "label": 1,
                     "group_id": f"bad{j}", "prob": np.nan, "error": "cannot decode"})
    feats.append({"video_id": "x_0", "source_video_id": "x", "error": None, **dict.fromkeys(FEATS, 99.0)})
    feats.append({"video_id": "v0_1", "source_video_id": "v0", "error": "decode", **dict.fromkeys(FEATS, -99.0)})
    ws.write(TABLE, pd.DataFrame(rows))
    ws.write("features_stage2", pd.DataFrame(feats))
    return ws


def _run(ws, observers=(), force=False, **rc):
    """``run_experiment``, leaving ``force`` at its default unless asked for."""
    return run_experiment(ws, FvcConfig(), RunConfig(model=MODEL, **rc), list(observers),
                          **({"force": True} if force else {}))


def _fits(what="fit"):
    return {fold: ids for w, fold, ids in SpyAdapter.calls if w == what}


def _run_dir(ws, **rc):
    r = RunConfig(model=MODEL, **rc)
    key = stable_hash({"config": r.hash(), "data": ws.fingerprints([TABLE]), "adapter": SpyAdapter.key_value})
    return ws.artifacts_dir / "cv" / MODEL / key


def test_each_fold_fits_its_training_rows_and_predicts_its_test_rows(tmp_path):
    ws = make_ws(tmp_path / "ws")
    rows = ws.read(TABLE)
    rows = rows[rows["error"].isna()]
    res = _run(ws)
    fits, preds = _fits("fit"), _fits("predict")
    assert sorted(fits) == sorted(preds) == [0, 1, 2, 3]
    for k in range(4):
        assert fits[k] == set(rows.loc[rows["fold"] != k, "video_id"])
        assert preds[k] == set(rows.loc[rows["fold"] == k, "video_id"])
    # OOF: every row once, with its own fold and the adapter's probability
    assert res.oof.index.equals(pd.RangeIndex(len(res.oof)))  # one label per row: .loc finds one prediction
    oof = res.oof.set_index("video_id").sort_index()
    want = rows.set_index("video_id").sort_index()
    assert list(oof.index) == list(want.index)
    np.testing.assert_array_equal(oof["fold"], want["fold"])
    np.testing.assert_allclose(oof["prob"], want["prob"])
    saved = pd.read_parquet(res.result_dir / "oof_predictions.parquet")
    assert list(saved.columns) == ["video_id", "source_video_id", "fold", "label", "prob"]
    pd.testing.assert_frame_equal(saved.set_index("video_id").sort_index(), oof[list(saved.columns[1:])],
                                  check_dtype=False)


def approx_rows(rows: list[dict]) -> list:
    return [pytest.approx(r, nan_ok=True) for r in rows]


def _by_hand(rows: pd.DataFrame, video_level: bool, threshold: float) -> tuple[list[dict], dict]:
    """Per-fold and pooled metrics of the spy's probabilities, scored per source video (or per row)."""
    if video_level:
        rows = rows.groupby("source_video_id").agg(prob=("prob", "mean"), label=("label", "first"),
                                                   fold=("fold", "first"))
    folds = [{"fold": int(k), **binary_metrics(p["label"], p["prob"], threshold)} for k, p in rows.groupby("fold")]
    for f, (_, p) in zip(folds, rows.groupby("fold")):  # the numbers themselves, not only the same function
        assert f["roc_auc"] == pytest.approx(roc_auc_score(p["label"], p["prob"]))
        assert f["accuracy"] == pytest.approx(((p["prob"] >= threshold) == p["label"]).mean())
        assert f["log_loss"] == pytest.approx(log_loss(p["label"], p["prob"], labels=[0, 1]))
    return folds, binary_metrics(rows["label"], rows["prob"], threshold)


@pytest.mark.parametrize("video_level, threshold", [(True, 0.5), (False, 0.3)])
def test_metrics_json_is_recomputed_from_the_oof_predictions(tmp_path, video_level, threshold):
    ws = make_ws(tmp_path / "ws")
    rows = ws.read(TABLE)
    rows = rows[rows["error"].isna()]
    rec = RecordingObserver()
    res = _run(ws, [rec], video_level=video_level, threshold=threshold)
    m = json.loads((ws.results_dir / MODEL / "metrics.json").read_text())
    folds, pooled = _by_hand(rows, video_level, threshold)
    assert m["folds"] == approx_rows(folds)
    assert m["pooled"] == pytest.approx(pooled, nan_ok=True)
    for key in ("roc_auc", "accuracy", "log_loss"):
        vals = [f[key] for f in folds]
        assert m["mean"][key] == pytest.approx(np.mean(vals)) and m["std"][key] == pytest.approx(np.std(vals, ddof=1))
    assert m["level"] == ("video" if video_level else "row")
    assert (m["n_rows"], m["n_videos"]) == (32, 16)
    assert m["model_id"] == MODEL and m["name"] == "Spy model" and m["family"] == "deep"
    rc = RunConfig(model=MODEL, video_level=video_level, threshold=threshold)
    assert m["config_hash"] == rc.hash() and m["run_config"] == rc.model_dump(mode="json")
    assert m["n_failed_videos"] == 1 and m["failed_video_ids"] == ["bad0"]
    assert m["extra"] == {"record_folds": [0, 1, 2, 3], "final_params": {"C": 1.0}}
    assert m["data_fingerprint"] == stable_hash(ws.fingerprints([TABLE]))
    assert m["final_model"] == "model.spy"
    # each fold's metrics reach the observer as they are scored, with the adapter's own record metrics
    ends = [e for name, e in rec.events if name == "fold_end"]
    assert [e["fold"] for e in ends] == [0, 1, 2, 3]
    for e, want in zip(ends, folds):
        assert "fold" not in e["metrics"]
        own = {"inner_best_score": 0.5 + e["fold"] / 100} if e["fold"] != 1 else {}
        assert e["metrics"] == pytest.approx({**{k: v for k, v in want.items() if k != "fold"}, **own}, nan_ok=True)
    # and the returned result says the same
    assert res.fold_metrics == approx_rows(folds) and res.mean == pytest.approx(m["mean"])
    assert res.std == pytest.approx(m["std"]) and res.summary["pooled"] == pytest.approx(pooled, nan_ok=True)
    assert res.model_id == MODEL and res.config_hash == rc.hash() and res.n_failed_videos == 1


def test_observer_gets_the_events_in_order_and_the_final_model_and_card(tmp_path):
    ws = make_ws(tmp_path / "ws")
    rec = RecordingObserver()
    res = _run(ws, [rec])
    names = rec.names()
    assert names == (["run_start"] + ["fold_start", "epoch_end", "fold_end"] * 4 + ["epoch_end", "run_end"])
    start = rec.events[0][1]
    assert start["model_id"] == MODEL and start["run_config"] == RunConfig(model=MODEL)
    assert start["tables"] == ws.fingerprints([TABLE])
    assert start["data_fingerprint"] == stable_hash(ws.fingerprints([TABLE]))
    assert [e["fold"] for n, e in rec.events if n in ("fold_start", "epoch_end")] == [0, 0, 1, 1, 2, 2, 3, 3, -1]
    run_dir = _run_dir(ws)
    for _, e in [ev for ev in rec.events if ev[0] == "fold_end"]:
        assert e["artifacts"] == {"fold_predictions": run_dir / f"fold-{e['fold']}" / "oof.parquet"}
        assert e["artifacts"]["fold_predictions"].exists()
    # the final refit gets the fold records in fold order and its own folder in the run folder
    (refit,) = [args for w, _, args in SpyAdapter.calls if w == "refit"]
    assert refit == ([0, 1, 2, 3], run_dir / "final")
    end = rec.events[-1][1]
    final = ws.results_dir / MODEL / "model.spy"
    assert end["final_model_path"] == final == res.final_model_path and json.loads(final.read_text()) == {"rows": 32}
    assert end["summary"] == res.summary and end["artifacts"] == res.artifacts
    assert res.artifacts["model"] == final and res.artifacts["metrics"].name == "metrics.json"
    assert res.result_dir == ws.results_dir / MODEL
    # the card: what the run was, its CV numbers and the stage-2 summary of the videos it trained on
    (card,) = SpyAdapter.cards
    assert ModelCard.load(ws.results_dir / MODEL / "model.json") == card
    assert (card.model_id, card.name, card.family, card.preset) == (MODEL, "Spy model", "deep", "full")
    assert card.config_hash == RunConfig(model=MODEL).hash()
    assert card.data_fingerprint == stable_hash(ws.fingerprints([TABLE]))
    assert card.features == FvcConfig().features.model_dump(mode="json")
    assert card.scale == FvcConfig().scale.model_dump(mode="json")
    assert card.cv == {"roc_auc": res.mean["roc_auc"], "roc_auc_std": res.std["roc_auc"],
                       "log_loss": res.mean["log_loss"], "n_folds": 4}
    feats = ws.read("features_stage2")
    trained = feats[feats["source_video_id"].str.startswith("v") & feats["error"].isna()]
    assert card.training_summary == summarize(trained, FEATS) and card.training_summary
    # importance from the adapter, given the records and the final model
    imp = pd.read_csv(ws.results_dir / MODEL / "feature_importance.csv")
    assert imp.to_dict("list") == {"feature": ["a", "b"], "importance": [32.0, 4.0]}
    assert res.artifacts["feature_importance"] == ws.results_dir / MODEL / "feature_importance.csv"


def test_without_refit_there_is_no_final_model_and_no_importance_file_without_importance(tmp_path, spy):
    ws = make_ws(tmp_path / "ws")
    spy.with_importance = False
    res = _run(ws, refit_final=False)
    assert res.final_model_path is None and not spy.cards
    assert not [c for c in spy.calls if c[0] == "refit"]
    m = json.loads((ws.results_dir / MODEL / "metrics.json").read_text())
    assert "final_model" not in m and m["extra"] == {"record_folds": [0, 1, 2, 3]}
    assert not (ws.results_dir / MODEL / "model.spy").exists()
    assert not (ws.results_dir / MODEL / "feature_importance.csv").exists()
    assert set(res.artifacts) == {"metrics", "oof_predictions", "run_config"}


def test_finished_folds_are_reused_until_the_run_key_changes_and_force_recomputes(tmp_path, spy):
    ws = make_ws(tmp_path / "ws")
    seen = RecordingObserver()
    first = _run(ws, [seen])
    assert sorted(_fits()) == [0, 1, 2, 3]
    fold_files = sorted(_run_dir(ws).glob("fold-*/oof.parquet"))
    assert [p.parent.name for p in fold_files] == ["fold-0", "fold-1", "fold-2", "fold-3"]
    stamps = [p.stat().st_mtime_ns for p in fold_files]

    spy.calls.clear()
    rec = RecordingObserver()
    again = _run(ws, [rec])
    assert _fits() == {} and [c[0] for c in spy.calls] == ["refit"]  # only the final refit runs again
    assert [p.stat().st_mtime_ns for p in fold_files] == stamps
    pd.testing.assert_frame_equal(first.oof, again.oof)
    assert again.summary["folds"] == approx_rows(first.summary["folds"])
    assert rec.names().count("fold_end") == 4
    fold_epochs = lambda obs: [e for n, e in obs.events if n == "epoch_end" and e["fold"] >= 0]  # noqa: E731
    assert fold_epochs(rec) == fold_epochs(seen) != []  # reused folds replay the epochs their fits sent

    for change in ({"seed": 7}, {"key": "k2"}, {"table": True}):  # the run key: config, adapter key, table bytes
        spy.calls.clear()
        if "key" in change:
            spy.key_value = change["key"]
        if "table" in change:
            t = ws.read(TABLE)
            t.loc[0, "prob"] = 0.99
            ws.write(TABLE, t)
        _run(ws, seed=change.get("seed", 42))
        assert sorted(_fits()) == [0, 1, 2, 3], change

    spy.calls.clear()
    _run(ws)
    assert _fits() == {}
    _run(ws, force=True)
    assert sorted(_fits()) == [0, 1, 2, 3]


def test_a_failed_fold_stops_the_run_reports_the_error_and_the_rerun_resumes(tmp_path, spy):
    ws = make_ws(tmp_path / "ws")
    spy.fail_fold = 2
    rec = RecordingObserver()
    with pytest.raises(RuntimeError, match="fit of fold 2 broke"):
        _run(ws, [rec])
    assert rec.names()[-2:] == ["fold_start", "run_error"] and "run_end" not in rec.names()
    err = rec.events[-1][1]
    assert err["model_id"] == MODEL and str(err["error"]) == "fit of fold 2 broke"
    assert not (ws.results_dir / MODEL / "metrics.json").exists()
    spy.fail_fold, spy.calls = None, []
    res = _run(ws)
    assert sorted(_fits()) == [2, 3] and len(res.oof) == 32


def test_only_the_asked_folds_run(tmp_path):
    ws = make_ws(tmp_path / "ws")
    res = _run(ws, folds=[3, 1])
    assert list(_fits()) == [3, 1] and sorted(res.oof["fold"].unique()) == [1, 3]
    assert [f["fold"] for f in res.fold_metrics] == [1, 3]
    assert SpyAdapter.cards[0].cv["n_folds"] == 2


def test_fold_checks_give_specific_errors(tmp_path):
    ws = make_ws(tmp_path / "ws")
    with pytest.raises(InputError, match=r"^--fold: fold\(s\) \[5, 7\] not in splits \(have \[0, 1, 2, 3\]\)$"):
        _run(ws, folds=[7, 1, 5])
    one = make_ws(tmp_path / "one", folds=1)
    for run in (_run, lambda w: experiment_folds(w, RunConfig(model=MODEL)),
                lambda w: run_experiment_fold(w, FvcConfig(), RunConfig(model=MODEL), 0)):
        with pytest.raises(InputError, match=r"splits.parquet: needs at least 2 folds with labelled rows, has 1$"):
            run(one)
    two = make_ws(tmp_path / "two", folds=2)
    assert sorted(_run(two).oof["fold"].unique()) == [0, 1]  # two folds are enough
    t = ws.read(TABLE)
    t.loc[t["fold"] != 2, "label"] = 1  # fold 2's training part: fakes only
    t.loc[t["fold"] == 2, "label"] = 0
    ws.write(TABLE, t)
    SpyAdapter.calls.clear()
    with pytest.raises(InputError, match="splits.parquet: the training part of fold 2 holds one class only$"):
        _run(ws, folds=[0, 1, 2])
    assert SpyAdapter.calls == []  # checked before any fold is fitted


@pytest.mark.parametrize("entry_point", ["run_experiment", "experiment_folds", "run_experiment_fold"])
@pytest.mark.parametrize("rc, message", [
    ({"preset": "smoke"}, r"model spy-loop has no preset 'smoke' \(known: full\)"),
    ({"params": {"weights": "DEFAULT"}}, r"model spy-loop \(Spy model\) has no pretrained weights")])
def test_unknown_preset_or_parameter_fails_before_any_table_is_read(tmp_path, entry_point, rc, message):
    ws = Workspace(tmp_path / "empty").ensure()  # no table at all: a later check would name a missing table
    run = {"run_experiment": lambda r: run_experiment(ws, FvcConfig(), r),
           "experiment_folds": lambda r: experiment_folds(ws, r),
           "run_experiment_fold": lambda r: run_experiment_fold(ws, FvcConfig(), r, 0)}[entry_point]
    with pytest.raises(InputError, match=message):
        run(RunConfig(model=MODEL, **rc))
    assert SpyAdapter.calls == []


def test_experiment_folds_and_run_experiment_fold_share_the_run_folder(tmp_path, spy):
    ws = make_ws(tmp_path / "ws")
    rc = RunConfig(model=MODEL)
    assert experiment_folds(ws, rc) == [0, 1, 2, 3]
    assert experiment_folds(ws, RunConfig(model=MODEL, folds=[2, 0])) == [2, 0]
    run_experiment_fold(ws, FvcConfig(), rc, 1)
    run_experiment_fold(ws, FvcConfig(), rc, 3, observers=[rec := RecordingObserver()])
    assert rec.names() == ["epoch_end"] and rec.events[0][1]["fold"] == 3  # the observers reach the fit
    assert sorted(_fits()) == [1, 3]
    assert sorted(p.parent.name for p in _run_dir(ws).glob("fold-*/fold.json")) == ["fold-1", "fold-3"]
    spy.calls.clear()
    _run(ws)
    assert sorted(_fits()) == [0, 2]  # the folds computed apart are reused by the whole run

    spy.calls.clear()
    run_experiment_fold(ws, FvcConfig(), rc, 1)
    assert _fits() == {}  # done: not recomputed
    run_experiment_fold(ws, FvcConfig(), rc, 1, force=True)
    assert sorted(_fits()) == [1]  # force recomputes that fold only
    assert (_run_dir(ws) / "fold-3" / "oof.parquet").exists()

    with pytest.raises(InputError, match="^--fold: fold 7 is not one that spy-loop runs$"):
        run_experiment_fold(ws, FvcConfig(), rc, 7)
    with pytest.raises(InputError, match="fold 3 is not one that spy-loop runs"):
        run_experiment_fold(ws, FvcConfig(), RunConfig(model=MODEL, folds=[0, 1]), 3)

    assert experiment_folds(ws, rc) == [0, 1, 2, 3] and _run_dir(ws).exists()  # without forget: kept
    assert experiment_folds(ws, rc, forget=True) == [0, 1, 2, 3]
    assert not _run_dir(ws).exists()
    spy.calls.clear()
    _run(ws)
    assert sorted(_fits()) == [0, 1, 2, 3]


def test_another_rank_computes_but_writes_nothing(tmp_path, monkeypatch, spy):
    """Data parallel: a rank other than 0 runs the same folds and refit, but leaves files to rank 0 (and never
    clears the run folder rank 0 is using)."""
    ws = make_ws(tmp_path / "ws")
    run_experiment_fold(ws, FvcConfig(), RunConfig(model=MODEL), 0)
    monkeypatch.setattr(loop, "is_main_process", lambda: False)
    res = _run(ws, force=True)
    assert (_run_dir(ws) / "fold-0" / "oof.parquet").exists()  # not cleared by a non-main rank
    assert res.final_model_path is None and res.artifacts == {} and not spy.cards
    assert not (ws.results_dir / MODEL).exists()
    assert len(res.oof) == 32 and [c[0] for c in spy.calls].count("refit") == 1


def test_training_videos_summary_uses_the_models_own_error_free_stage2_rows(tmp_path):
    ws = make_ws(tmp_path / "ws")
    data = SpyAdapter(get_model(MODEL), ws, RunConfig(model=MODEL)).load()
    feats = ws.read("features_stage2")
    want = feats[feats["source_video_id"].isin([f"v{i}" for i in range(16)]) & feats["error"].isna()]
    assert len(want) == 16
    assert loop.training_videos_summary(ws, data) == summarize(want, FEATS)
    other = ExperimentData(meta=data.meta.assign(source_video_id="nobody"))
    assert loop.training_videos_summary(ws, other) == {}
    (ws.table("features_stage2")).unlink()
    assert loop.training_videos_summary(ws, data) == {}


def test_make_adapter_builds_each_family_and_an_ensembles_members(tmp_path, monkeypatch):
    monkeypatch.setitem(loop.ADAPTERS, "features", FeatureAdapter)
    ws = Workspace(tmp_path / "ws").ensure()
    assert isinstance(loop.make_adapter(get_model("5a"), ws, RunConfig(model="5a")), FeatureAdapter)
    rc = RunConfig(model="ens", preset="smoke", params={"members": ["5a", "5beta-xgb"]})
    ens = loop.make_adapter(get_model("ens"), ws, rc)
    assert isinstance(ens, EnsembleAdapter)
    assert [type(m.adapter) for m in ens.members] == [FeatureAdapter, FeatureAdapter]
    assert [m.entry.id for m in ens.members] == ["5a", "5beta-xgb"]
    from test_cv import make_ws as feature_ws  # a stage-2 features table + splits in this workspace

    feature_ws(ws.root, n=20)
    data = ens.load()  # the ensemble and its members read the workspace they were made for
    assert sorted(data.meta["source_video_id"]) == sorted(f"v{i}" for i in range(20))



@pytest.mark.parametrize("main", [True, False])
def test_under_ddp_rank_0_loads_the_data_before_the_other_ranks(monkeypatch, main):
    """Loading builds the clip cache: rank 0 must have finished it before another rank starts loading."""
    calls = []
    monkeypatch.setattr(loop, "is_main_process", lambda: main)
    monkeypatch.setattr(loop, "sync_processes", lambda: calls.append("wait for every rank"))

    class Adapter:
        def load(self):
            calls.append("load")
            return "data"

    assert loop._load_rank0_first(Adapter()) == "data"
    assert calls == (["load", "wait for every rank"] if main else ["wait for every rank", "load"])
