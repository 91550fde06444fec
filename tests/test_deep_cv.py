"""Deep cross-validation: `fvc train --model <deep id> --preset smoke` end to end, results layout, resume."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from _deep_fixtures import make_scaled_workspace
from typer.testing import CliRunner

from fvc.cli import app
from fvc.config import FvcConfig
from fvc.models.deep.catalog import get_def
from fvc.training.deep_cv import inner_split, load_deep_model, select_copies
from fvc.training.events import RecordingObserver
from fvc.training.results import read_metrics, read_oof
from fvc.training.run_config import RunConfig, run_training

FAST = ["5c", "5e", "5u"]  # plain 3D CNN, variable aspect (masking), two-stream (flow cache)
REST = ["5d", "5o", "5p", "5q", "5r", "5s", "5t"]


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return make_scaled_workspace(tmp_path_factory.mktemp("deepcv"), per_class=5, folds=5, corrupt=True)


def _train_cli(ws, model_id):
    res = CliRunner().invoke(app, ["train", "-w", str(ws.root), "--model", model_id, "--preset", "smoke",
                                   "--no-tracking"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    return res


def _check_results(ws, model_id):
    m = read_metrics(ws, model_id)
    assert m["family"] == "deep" and m["level"] == "video" and len(m["folds"]) == 5
    assert m["n_videos"] == 10 and m["n_failed_videos"] == 1 and m["failed_video_ids"] == ["bad"]
    assert 0.0 <= m["mean"]["roc_auc"] <= 1.0 and m["extra"]["preset"] == "smoke"
    oof = read_oof(ws, model_id)
    assert len(oof) == 10 and set(oof["fold"]) == set(range(5)) and oof["prob"].between(0, 1).all()
    model, spec, payload = load_deep_model(ws.results_dir / model_id / "model.pt")
    assert payload["config_hash"] == m["config_hash"]
    assert spec.frames == get_def(model_id).preset("smoke")["clip"]["frames"]
    assert json.loads((ws.results_dir / model_id / "model.json").read_text())["model_id"] == model_id


@pytest.mark.parametrize("model_id", FAST)
def test_cli_train_smoke(ws, model_id):
    _train_cli(ws, model_id)
    _check_results(ws, model_id)


@pytest.mark.slow
@pytest.mark.parametrize("model_id", REST)
def test_cli_train_smoke_slow(ws, model_id):
    _train_cli(ws, model_id)
    _check_results(ws, model_id)


def test_events_and_resume_skips_finished_folds(ws):
    rc = RunConfig(model="5c", preset="smoke", folds=[0, 1], seed=7)
    first = RecordingObserver()
    r1 = run_training(ws, FvcConfig(), [rc], observers=[first])[0]
    names = first.names()
    assert names[0] == "run_start" and names[-1] == "run_end"
    assert names.count("fold_start") == 2 and names.count("fold_end") == 2
    assert names.count("epoch_end") == 3  # one epoch per fold + the final refit (fold -1)
    epoch = next(e for n, e in first.events if n == "epoch_end")
    assert {"train_loss", "train_accuracy"} <= set(epoch["metrics"])
    fold_end = next(e for n, e in first.events if n == "fold_end")
    assert "roc_auc" in fold_end["metrics"] and "fold_predictions" in fold_end["artifacts"]
    again = RecordingObserver()
    r2 = run_training(ws, FvcConfig(), [rc], observers=[again])[0]
    assert again.names().count("epoch_end") == 0  # finished folds and final fit resumed from their checkpoints
    pd.testing.assert_frame_equal(r1.oof.reset_index(drop=True), r2.oof.reset_index(drop=True))
    assert again.names().count("fold_end") == 2


def test_inner_split_is_grouped():
    index = pd.DataFrame({"row": range(40), "group_id": [f"g{i // 4}" for i in range(40)],
                          "source_video_id": [f"v{i}" for i in range(40)]})
    fit, val = inner_split(index, index["row"].to_numpy(), seed=0)
    g = index.set_index("row")["group_id"]
    assert len(val) and not set(g.loc[fit]) & set(g.loc[val])


def test_select_copies_keeps_original_first():
    t = pd.DataFrame({"video_id": ["a_1", "a", "a_2", "b_1", "b"], "source_video_id": ["a", "a", "a", "b", "b"]})
    assert sorted(select_copies(t, 1)["video_id"]) == ["a", "b"]
    assert sorted(select_copies(t, 2)["video_id"]) == ["a", "a_1", "b", "b_1"]
    assert len(select_copies(t, None)) == 5


def test_missing_scaled_table_is_one_line_error(tmp_path):
    from fvc.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["train", "-w", str(tmp_path), "--model", "5c", "--preset", "smoke", "--no-tracking"])
    assert exc.value.code == 2


def test_no_pretrained_is_explicit(ws, monkeypatch, tmp_path):
    """The full preset asks for Kinetics weights: offline it stops with the file to fetch, never trains silently."""
    from fvc.errors import MissingDependencyError

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("FVC_OFFLINE", "1")
    rc = RunConfig(model="5d", preset="full", folds=[0])
    with pytest.raises(MissingDependencyError, match="r3d_18-b3b3357e.pth"):
        run_training(ws, FvcConfig(), [rc])


def test_cli_no_pretrained_flag_reaches_the_run_config(tmp_path):
    """--no-pretrained is recorded in the run config (here the run then stops: no scaled table yet)."""
    import yaml

    out = tmp_path / "run.yaml"
    res = CliRunner().invoke(app, ["train", "-w", str(tmp_path / "w"), "--model", "5d", "--preset", "full",
                                   "--no-pretrained", "--save-config", str(out), "--no-tracking"])
    assert res.exit_code != 0 and "fvc scale" in str(res.exception)
    saved = yaml.safe_load(out.read_text())
    assert saved["params"] == {"pretrained": False} and saved["preset"] == "full"
    assert get_def("5d").preset(saved["preset"], saved["params"])["model"]["pretrained"] is False
