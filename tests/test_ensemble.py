"""The mean ensemble ``ens``: fold k's score is the mean of the members' fold-k predictions (their own
finished folds, read back, never refitted), it is saved with its members and predicts like any model."""

from __future__ import annotations

import numpy as np
import pytest
from _deep_fixtures import make_scaled_workspace, one_torch_thread, write_letterboxed  # noqa: F401 (autouse)

from fvc.errors import InputError
from fvc.experiment import deep_adapter
from fvc.experiment.result_files import read_metrics, read_oof
from fvc.models import get_model
from fvc.predict import Predictor

MEMBERS = ["5c", "5e"]  # the two fastest deep models at their smoke preset


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return make_scaled_workspace(tmp_path_factory.mktemp("ens"), per_class=4, folds=4, corrupt=True)


def test_members_are_checked():
    e = get_model("ens")
    assert e.family == "ensemble" and e.build(e.preset("smoke", {"members": ["5c", "r3d_18"]})["model"]) == ("5c",
                                                                                                            "5d")
    for bad, msg in ((["5c"], "at least two"), (["5c", "5c"], "at least two"), (["5c", "ens"], "cannot hold"),
                     (["5c", "nope"], "unknown model 'nope'")):
        with pytest.raises(InputError, match=msg):
            e.build({"members": bad})


def test_fold_scores_are_the_mean_of_the_members_fold_predictions(ws, fvc, monkeypatch):
    for mid in MEMBERS:
        code, _, err = fvc("train", "-w", str(ws.root), "--model", mid, "--preset", "smoke", "--seed", "7",
                           "--no-tracking")
        assert code == 0, err
    fold_files = sorted((ws.artifacts_dir / "cv").glob("5[ce]/*/fold-*/oof.parquet"))
    assert len(fold_files) == 8
    before = {p: p.stat().st_mtime_ns for p in fold_files}

    def no_refit(*a, **kw):
        raise AssertionError("a member fold that finished was fitted again")

    monkeypatch.setattr(deep_adapter.DeepAdapter, "fit_fold", no_refit)
    code, _, err = fvc("train", "-w", str(ws.root), "--model", "ens", "--members", ",".join(MEMBERS), "--preset",
                       "smoke", "--seed", "7", "--no-tracking")
    assert code == 0, err
    assert {p: p.stat().st_mtime_ns for p in fold_files} == before  # read back, not rewritten
    ens = read_oof(ws, "ens").set_index("source_video_id").sort_index()
    members = [read_oof(ws, m).groupby("source_video_id")[["prob", "fold"]].agg({"prob": "mean", "fold": "first"})
               for m in MEMBERS]
    np.testing.assert_allclose(ens["prob"].to_numpy(), np.mean([m.loc[ens.index, "prob"] for m in members], axis=0))
    assert (ens["fold"] == members[0].loc[ens.index, "fold"]).all()
    m = read_metrics(ws, "ens")
    assert m["family"] == "ensemble" and m["extra"]["members"] == MEMBERS and m["failed_video_ids"] == ["bad"]
    # saved with its members: the mean of what each member predicts, from the ensemble's folder alone
    video = write_letterboxed(ws.root / "new.mp4", fake=True, seed=2, frames=12, orig=(96, 54), size=96)
    (pred,) = Predictor(ws.results_dir / "ens").predict_files([video])
    solo = [Predictor(ws.results_dir / "ens" / "members" / mid).predict_file(video).prob_fake for mid in MEMBERS]
    assert pred.error is None and pred.prob_fake == pytest.approx(float(np.mean(solo)))
    assert solo[0] == pytest.approx(Predictor(ws.results_dir / "5c").predict_file(video).prob_fake)


def test_cli_member_errors(ws, fvc):
    code, _, err = fvc("train", "-w", str(ws.root), "--model", "ens", "--members", "5c", "--no-tracking")
    assert code == 2 and "at least two" in err
    code, _, err = fvc("train", "-w", str(ws.root), "--model", "5c", "--members", "5c,5e", "--no-tracking")
    assert code == 2 and "--members" in err and "ensemble only" in err


def test_tracked_and_served_from_the_registry(tmp_path, monkeypatch, fvc):
    """With tracking on, ``fvc-ens`` is a pyfunc over video paths whose artifact is the ensemble's folder."""
    import mlflow
    import pandas as pd

    from fvc.tracking.mlflow_store import open_store

    ws = make_scaled_workspace(tmp_path / "w", per_class=3, folds=3)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("CI", "true")
    code, _, err = fvc("train", "-w", str(ws.root), "--model", "ens", "--members", "5c,5e", "--preset", "smoke",
                       "--fold", "0")
    assert code == 0, err
    assert open_store(ws).client.get_model_version("fvc-ens", "1").tags["family"] == "ensemble"
    video = write_letterboxed(tmp_path / "v.mp4", fake=False, seed=4, frames=12, orig=(96, 54), size=96)
    prob = mlflow.pyfunc.load_model("models:/fvc-ens/1").predict(pd.DataFrame({"path": [str(video)]}))
    assert prob[0] == pytest.approx(Predictor(ws.results_dir / "ens").predict_file(video).prob_fake, abs=1e-6)
