"""Deep models in MLflow: `fvc train --model 5c` (tracking on) registers a video-path pyfunc,
fold runs carry their checkpoints, and ``models:/fvc-5c@champion`` predicts a video."""

from __future__ import annotations

import json
import os

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

from pathlib import Path

import mlflow
import pandas as pd
import pytest
import torch
from _deep_fixtures import make_scaled_workspace, write_letterboxed

from fvc.errors import FvcError
from fvc.predict import Predictor
from fvc.tracking.mlflow_store import open_store
from fvc.tracking.model_registry import candidates, promote, resolve_model_ref, resolve_model_uri


def _fvc(capsys, *args):
    from fvc.cli import main

    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """5c at the smoke preset on two folds of a tiny letterboxed workspace, through the CLI, tracking on."""
    ws = make_scaled_workspace(tmp_path_factory.mktemp("deeptrack"), per_class=3, folds=3)
    mp = pytest.MonkeyPatch()
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    mp.setenv("CI", "true")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    from fvc.cli import main

    try:
        with pytest.raises(SystemExit) as exc:
            main(["train", "-w", str(ws.root), "--model", "5c", "--preset", "smoke", "--fold", "0", "--fold", "1"])
    finally:
        torch.set_num_threads(n)
        mp.undo()
    assert exc.value.code == 0
    video = write_letterboxed(ws.root / "new.mp4", fake=True, seed=3, frames=12, orig=(96, 54), size=96)
    return ws, open_store(ws), video


def _runs(store, kind):
    return store.client.search_runs([store.experiment_id], f"tags.`fvc.kind` = '{kind}' and tags.`fvc.model_id` = '5c'")


def test_deep_model_is_registered_with_signature(trained):
    ws, store, _ = trained
    cands = candidates(store, "5c")
    assert cands["name"].tolist() == ["fvc-5c"] and cands["cv_roc_auc"].notna().all()
    mv = store.client.get_model_version("fvc-5c", "1")
    (parent,) = _runs(store, "model")
    assert mv.run_id == parent.info.run_id and mv.tags["family"] == "deep"
    assert float(mv.tags["cv_roc_auc"]) == pytest.approx(parent.data.metrics["roc_auc_mean"], abs=1e-6)
    seconds = parent.data.metrics["log_model_seconds"]
    print(f"\nlog_model 5c: {seconds:.3f} s")
    assert 0 < seconds
    info = mlflow.models.get_model_info("models:/fvc-5c/1")
    assert info.signature.inputs.input_names() == ["path"]
    assert info.signature.outputs is not None
    reqs = (Path(mlflow.artifacts.download_artifacts("models:/fvc-5c/1")) / "requirements.txt").read_text()
    assert "torch==" in reqs and "mlflow==" in reqs and "av==" in reqs


def test_fold_runs_carry_checkpoints(trained):
    ws, store, _ = trained
    folds = _runs(store, "fold")
    assert sorted(r.data.tags["fvc.fold"] for r in folds) == ["0", "1"]
    for run in folds:
        t = run.data.tags
        ckpt = Path(t["fvc.checkpoint_dir"])
        k = t["fvc.fold"]
        assert ckpt.name == "ckpt" and ckpt.parent.name == f"fold-{k}"
        assert ckpt.is_relative_to(ws.artifacts_dir / "cv" / "5c")
        manifest = json.loads((ckpt / "checkpoints.json").read_text())
        assert Path(t["fvc.best_checkpoint"]) == ckpt / manifest["best"]["file"]
        assert Path(t["fvc.best_checkpoint"]).exists()
        assert t["fvc.best_checkpoint_epoch"] == str(manifest["best"]["epoch"])
        assert Path(t["fvc.last_checkpoint"]).exists()
    (final,) = _runs(store, "final")
    assert Path(final.data.tags["fvc.checkpoint_dir"]).parts[-2:] == ("final", "ckpt")
    assert Path(final.data.tags["fvc.best_checkpoint"]).exists()


def test_champion_loads_as_pyfunc_and_predicts_a_video(trained, capsys):
    ws, store, video = trained
    code, out, err = _fvc(capsys, "promote", "-w", str(ws.root), "--model", "5c")
    assert code == 2 and "--allow-smoke" in err and "Traceback" not in err  # a smoke model is no champion
    code, out, err = _fvc(capsys, "promote", "-w", str(ws.root), "--model", "5c", "--allow-smoke")
    assert code == 0, err
    assert "models:/fvc-5c@champion" in out
    model = mlflow.pyfunc.load_model("models:/fvc-5c@champion")
    prob = model.predict(pd.DataFrame({"path": [str(video), str(video)]}))
    assert prob.shape == (2,) and 0.0 <= prob[0] <= 1.0 and prob[0] == pytest.approx(prob[1])
    # the same weights as results/5c/model.pt, through the same Predictor fvc predict uses
    direct = Predictor(ws.results_dir / "5c" / "model.pt").predict_file(video)
    assert prob[0] == pytest.approx(direct.prob_fake, abs=1e-6)
    with pytest.raises(FvcError, match="could not be scored"):
        model.predict(pd.DataFrame({"path": [str(ws.root / "missing.mp4")]}))


def test_predict_cli_with_champion_uri(trained, capsys):
    ws, store, video = trained
    promote(store, model_id="5c", allow_smoke=True)  # tests may run on another xdist worker than the CLI promote test
    assert candidates(store, "5c").iloc[0]["aliases"] == "champion"
    path = resolve_model_ref(ws, "models:/fvc-5c@champion")
    assert path.name == "model.pt" and path.is_relative_to(ws.cache_dir)
    assert resolve_model_uri(store, "models:/fvc-5c@champion").model_id == "5c"
    code, out, err = _fvc(capsys, "predict", str(video), "--model", "models:/fvc-5c@champion", "-w", str(ws.root),
                          "--json")
    assert code == 0, err
    row = json.loads(out)["predictions"][0]
    assert row["error"] is None and 0.0 <= row["prob_fake"] <= 1.0 and row["clips"] == 1
    direct = Predictor(ws.results_dir / "5c" / "model.pt").predict_file(video)
    assert row["prob_fake"] == pytest.approx(direct.prob_fake, abs=1e-6)
