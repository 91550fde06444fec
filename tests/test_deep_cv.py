"""Deep models in the experiment loop: `fvc train --model <deep id> --preset smoke` end to end, results
layout and model card, resume, no test-fold leakage, weights read once."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _deep_fixtures import make_scaled_workspace
from typer.testing import CliRunner

from fvc.cli import app
from fvc.config import FvcConfig
from fvc.experiment import RunConfig, default_run_config, run_experiment
from fvc.experiment import deep_adapter
from fvc.experiment.deep_adapter import inner_split, select_copies
from fvc.experiment.result_files import read_metrics, read_oof
from fvc.models import get_model
from fvc.models.saved import load_model
from fvc.training.events import RecordingObserver


def run_training(ws, cfg, rcs, observers=None):
    return [run_experiment(ws, cfg, rc, observers) for rc in rcs]

FAST = ["5c", "5e", "5u", "5k", "5l", "5m", "5n"]  # 3D CNN, variable aspect, two-stream (flow), transformers
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
    assert 0.0 <= m["mean"]["roc_auc"] <= 1.0 and m["preset"] == "smoke"
    oof = read_oof(ws, model_id)
    assert len(oof) == 10 and set(oof["fold"]) == set(range(5)) and oof["prob"].between(0, 1).all()
    model, card = load_model(ws.results_dir / model_id / "model.pt")
    assert card.config_hash == m["config_hash"] and card.preset == "smoke" and card.model_id == model_id
    assert card.data_config.clip.frames == get_model(model_id).preset("smoke")["clip"]["frames"]
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


def test_events_and_resume_skips_finished_folds(ws, monkeypatch):
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
    fitted = []
    monkeypatch.setattr(deep_adapter.DeepAdapter, "fit_fold", lambda self, k, *a, **kw: fitted.append(k))
    r2 = run_training(ws, FvcConfig(), [rc], observers=[again])[0]
    assert fitted == []  # finished folds are read back, never fitted again
    epochs = lambda obs: [e for n, e in obs.events if n == "epoch_end"]  # noqa: E731
    # the folds' saved epochs are replayed as they were sent; the final fit resumed from its checkpoint
    assert epochs(again) == [e for e in epochs(first) if e["fold"] >= 0] and len(epochs(again)) == 2
    pd.testing.assert_frame_equal(r1.oof.reset_index(drop=True), r2.oof.reset_index(drop=True))
    assert again.names().count("fold_end") == 2


def test_inner_split_is_grouped():
    groups = np.array([f"g{i // 4}" for i in range(40)])
    fit, val = inner_split(groups, np.arange(40), seed=0)
    assert len(val) and not set(groups[fit]) & set(groups[val])


def test_no_fold_model_trains_on_its_test_fold(ws, monkeypatch):
    """A spy on the trainer records the videos of every training set and of its early-stopping set: a test
    fold's videos never appear in either, and the two sets share no cascade group."""
    seen, vals = [], []
    orig = deep_adapter.Trainer.fit

    def spy(self, model, train_ds, val_ds=None, **kw):
        idx = train_ds.cache.index.set_index("row")
        seen.append((kw.get("fold"), set(idx.loc[train_ds.rows, "video_id"])))
        if val_ds is not None:
            vals.append((kw.get("fold"), set(idx.loc[val_ds.rows, "video_id"])))
        return orig(self, model, train_ds, val_ds, **kw)

    monkeypatch.setattr(deep_adapter.Trainer, "fit", spy)
    rc = RunConfig(model="5c", preset="smoke", seed=11, params={"val_share": 0.25})  # smoke has no early stopping
    res = run_training(ws, FvcConfig(), [rc], observers=[])[0]
    test_videos = {k: set(res.oof.loc[res.oof["fold"] == k, "video_id"]) for k in range(5)}
    folds = [(k, ids) for k, ids in seen if k != -1]
    assert sorted(k for k, _ in folds) == list(range(5))
    val_of = dict(vals)
    assert sorted(val_of) == list(range(5)) and all(val_of.values())  # 8 training groups: 2 held out per fold
    group = dict(zip(ws.read("scaled")["video_id"], ws.read("scaled")["group_id"]))
    for k, ids in folds:
        assert ids and not ids & test_videos[k], f"fold {k} trained on its own test videos"
        assert not val_of[k] & test_videos[k], f"fold {k} stopped early on its own test videos"
        assert not {group[v] for v in ids} & {group[v] for v in val_of[k]}, f"fold {k}: a group fit and validated"
        assert ids | val_of[k] == set().union(*(test_videos[j] for j in range(5) if j != k))
    final = [ids for k, ids in seen if k == -1]
    assert final == [set(res.oof["video_id"])]  # only the final refit sees every video


def test_pretrained_weights_are_read_once_per_run(ws, monkeypatch, tmp_path):
    """5d at a smoke clip size with its Kinetics weights from a local hub file: 5 folds + refit, one read."""
    import torch
    import torchvision

    from fvc.models.deep import weights as weights_mod

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("FVC_OFFLINE", "1")
    torch.manual_seed(3)
    ref = torchvision.models.video.r3d_18()
    dest = weights_mod.hub_checkpoint_path(get_model("5d").weights.url)
    dest.parent.mkdir(parents=True)
    torch.save(ref.state_dict(), dest)
    reads = []
    orig = weights_mod.load_local_weights
    monkeypatch.setattr(weights_mod, "load_local_weights", lambda p: reads.append(p) or orig(p))
    models = []
    orig_new = deep_adapter.DeepAdapter.new_model
    monkeypatch.setattr(deep_adapter.DeepAdapter, "new_model",
                        lambda self, seed: models.append(orig_new(self, seed)) or models[-1])
    rc = RunConfig(model="5d", preset="smoke", params={"weights": "DEFAULT"}, seed=5)
    run_training(ws, FvcConfig(), [rc], observers=[])
    assert len(reads) == 1 and len(models) == 6
    for m in models:  # every fold started from the pretrained backbone, heads differ by fold seed
        assert m.pretrained
    first = [m for m in models]
    assert not torch.equal(first[0].head.proj.weight, first[1].head.proj.weight)


def test_select_copies_keeps_original_first():
    t = pd.DataFrame({"video_id": ["a_1", "a", "a_2", "b_1", "b"], "source_video_id": ["a", "a", "a", "b", "b"]})
    assert sorted(select_copies(t, 1)["video_id"]) == ["a", "b"]
    assert sorted(select_copies(t, 2)["video_id"]) == ["a", "a_1", "b", "b_1"]
    assert len(select_copies(t, None)) == 5


def test_missing_scaled_table_is_one_line_error(tmp_path, capsys):
    from fvc.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["train", "-w", str(tmp_path), "--model", "5c", "--preset", "smoke", "--no-tracking"])
    assert exc.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in lines if line.startswith("error:")]  # after "device: cpu (auto)", the one error line
    assert len(errors) == 1 and lines[-1] == errors[0] and "Traceback" not in "\n".join(lines)
    assert "scaled" in errors[0] and "fvc scale" in errors[0]


def test_no_pretrained_is_explicit(ws, monkeypatch, tmp_path):
    """The full preset asks for Kinetics weights: offline it stops with the file to fetch, never trains silently."""
    from fvc.errors import MissingDependencyError

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("FVC_OFFLINE", "1")
    rc = default_run_config("5d", folds=[0])
    assert rc.preset == "full"  # the catalog's default, not smoke
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
    assert saved["params"] == {"weights": None} and saved["preset"] == "full"
    assert get_model("5d").preset(saved["preset"], saved["params"])["model"]["weights"] is None


def test_a_deep_smoke_model_learns_the_noisy_fakes(tmp_path):
    """Fakes carry pixel noise, reals are smooth: 5c at the smoke size with a few epochs separates them on
    held-out folds. A constant or shuffled prediction would score 0.5."""
    import torch

    ws = make_scaled_workspace(tmp_path / "learn", per_class=8, folds=4)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rc = RunConfig(model="5c", preset="smoke", params={"epochs": 6, "lr_head": 3e-3}, refit_final=False)
        res = run_experiment(ws, FvcConfig(), rc, [])
    finally:
        torch.set_num_threads(n)
    assert res.summary["pooled"]["roc_auc"] > 0.8


class _Interrupt(Exception):
    pass


class _StopAt(RecordingObserver):
    """Raises right after the checkpoint of (fold, epoch) is written, as a kill there would leave it."""

    def __init__(self, fold, epoch):
        super().__init__()
        self.at = (fold, epoch)

    def on_epoch_end(self, fold, epoch, metrics):
        super().on_epoch_end(fold, epoch, metrics)
        if (fold, epoch) == self.at:
            raise _Interrupt(f"stopped at fold {fold} epoch {epoch}")


def test_interrupted_and_resumed_run_saves_the_same_weights_as_an_uninterrupted_one(tmp_path, monkeypatch):
    """Stopped inside fold 1, resumed, stopped inside the final refit, resumed: the final model.pt holds the
    same weights, bit for bit, as a run that was never stopped, and the same out-of-fold predictions."""
    import shutil

    import torch

    make_scaled_workspace(tmp_path / "a", per_class=4, folds=2)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    from fvc.workspace import Workspace

    straight_ws, resumed_ws = Workspace(tmp_path / "a"), Workspace(tmp_path / "b")
    rc = RunConfig(model="5c", preset="smoke", params={"epochs": 2}, seed=5)
    seen = RecordingObserver()
    straight = run_experiment(straight_ws, FvcConfig(), rc, [seen])
    final_epochs = [e["epoch"] for n, e in seen.events if n == "epoch_end" and e["fold"] == -1]
    assert final_epochs[0] == 0  # the refit's length follows the folds' early stopping (1 or 2 epochs here)
    for stop in (_StopAt(1, 0), _StopAt(-1, 0)):
        with pytest.raises(_Interrupt):
            run_experiment(resumed_ws, FvcConfig(), rc, [stop])
    last = RecordingObserver()
    fitted, fit_fold = [], deep_adapter.DeepAdapter.fit_fold
    monkeypatch.setattr(deep_adapter.DeepAdapter, "fit_fold",
                        lambda self, k, *a, **kw: fitted.append(k) or fit_fold(self, k, *a, **kw))
    resumed = run_experiment(resumed_ws, FvcConfig(), rc, [last])
    # the last run trained only what was left: no fold (their saved epochs are replayed), and the final
    # refit's epochs after its first
    assert fitted == []
    assert [(e["fold"], e["epoch"]) for n, e in last.events if n == "epoch_end" and e["fold"] == -1] == \
        [(-1, e) for e in final_epochs[1:]]
    a = load_model(straight.final_model_path)[0].state_dict()
    b = load_model(resumed.final_model_path)[0].state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])][:3]
    pd.testing.assert_frame_equal(straight.oof.reset_index(drop=True), resumed.oof.reset_index(drop=True))
