import numpy as np
import pytest
from typer.testing import CliRunner

from fvc.cli import app
from fvc.config import FvcConfig
from fvc.errors import InputError
from fvc.experiment import RunConfig, default_run_config, run_experiment
from fvc.experiment.result_files import read_metrics, read_oof
from fvc.models import get_model, list_models, register_model, resolve_models
from fvc.models.catalog import ModelEntry
from fvc.models.saved import load_model

from test_cv import make_ws

FEATURE_IDS = ["5a", "5alpha", "5b", "5beta-xgb", "5beta-lgbm", "5beta-cat"]


def test_catalog_lists_feature_models_with_metadata():
    ids = [e.id for e in list_models("features")]
    assert set(FEATURE_IDS) <= set(ids) and ids.index("5a") < ids.index("5b")
    for e in list_models("features"):
        assert e.family == "features" and e.inputs and e.summary and e.paper and e.data.kind == "features"
        assert e.preset("full")["grid"] and e.data.feature_version is not None
    assert get_model("XGBoost").id == "5beta-xgb"
    assert get_model("5beta").id == "5beta-xgb"
    assert [e.id for e in resolve_models("5a,5b")] == ["5a", "5b"]
    assert "5alpha" in [e.id for e in resolve_models("all")]
    assert list_models(pattern="5beta-*") == [get_model(m) for m in ("5beta-cat", "5beta-lgbm", "5beta-xgb")]


def test_unknown_model_lists_known_ids():
    with pytest.raises(InputError, match="known ids: .*5a"):
        get_model("nope")


def test_register_rejects_a_taken_name():
    e = get_model("5a")
    with pytest.raises(ValueError, match="already name model 5a"):
        register_model(ModelEntry("zz", "logreg", "features", e.builder, e.presets, e.data, "-"))
    with pytest.raises(ValueError, match="family must be one of .* got 'other'"):
        ModelEntry("zz", "x", "other", e.builder, e.presets, e.data, "-")


@pytest.mark.parametrize("model_id", [e.id for e in list_models("features") if e.data.stages == (2,)])
def test_every_stage2_model_trains_and_saves(tmp_path, model_id):
    ws = make_ws(tmp_path / "ws", n=40, signal=3.0)
    rc = default_run_config(model_id)
    rc.grid = {k: v[:1] for k, v in rc.grid.items()}  # one grid point keeps the test fast
    res = run_experiment(ws, FvcConfig(), rc)
    assert res.mean["roc_auc"] > 0.8
    model, card = load_model(res.final_model_path)
    assert card.config_hash == rc.hash() and card.model_id == model_id and card.preset == "full"
    assert card.columns == model.columns and card.data["stages"] == [2]
    feats = ws.read("features_stage2")
    summary = card.training_summary  # the OOD yardstick: the training rows' medians, column by column
    assert summary["n_videos"] == len(feats) and summary["columns"] == card.columns
    assert summary["median"] == pytest.approx(feats[card.columns].median().tolist())
    prob = model.predict_proba(feats)  # the scikit-learn contract: (n, 2), rows sum to one
    assert prob.shape == (len(feats), 2) and np.allclose(prob.sum(1), 1.0)
    # a model that learned: fake rows rank above real ones (a constant 0.5 would give 0.5)
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(feats["label"].astype(int), prob[:, 1]) > 0.9


def test_5alpha_joins_stage4_features(tmp_path):
    ws = make_ws(tmp_path / "ws", n=40, signal=3.0)
    s4 = ws.read("features_stage2").assign(is_upscaled=1.0, is_downscaled=0.0)
    ws.write("features_stage4", s4)
    rc = default_run_config("5alpha")
    assert rc.feature_stages == [2, 4]
    rc.grid = {"clf__C": [1.0], "clf__l1_ratio": [0.5]}
    res = run_experiment(ws, FvcConfig(), rc)
    assert res.summary["extra"]["n_features_in"] == 2 * 8 + 2
    model, card = load_model(res.final_model_path)
    assert any(c.startswith("s4_") for c in model.columns) and card.data["stages"] == [2, 4]


def test_cli_train_config_roundtrip_reproduces(tmp_path):
    ws = make_ws(tmp_path / "ws", n=40)
    runner = CliRunner()
    cfg_path = tmp_path / "run.yaml"
    r = runner.invoke(app, ["train", "-w", str(ws.root), "--model", "5a", "--save-config", str(cfg_path),
                            "--no-tracking", "--folds", "5"])
    assert r.exit_code == 0, r.output
    first = read_oof(ws, "5a")
    h = read_metrics(ws, "5a")["config_hash"]
    assert RunConfig.from_yaml(cfg_path).hash() == h
    r = runner.invoke(app, ["train", "-w", str(ws.root), "--config", str(cfg_path), "--no-tracking"])
    assert r.exit_code == 0, r.output
    assert read_metrics(ws, "5a")["config_hash"] == h
    np.testing.assert_allclose(read_oof(ws, "5a")["prob"], first["prob"])


def test_cli_errors_are_one_line(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    ws = make_ws(tmp_path / "ws", n=40)
    fvc = str(Path(sys.executable).with_name("fvc"))
    for args, needle in ((["--model", "nope"], "unknown model"), (["--model", "5a", "--folds", "3"], "fvc splits"),
                         (["--model", "5alpha"], "fvc features --stage 4")):
        p = subprocess.run([fvc, "train", "-w", str(ws.root), "--no-tracking", *args], capture_output=True, text=True)
        assert p.returncode == 2 and needle in p.stderr and "Traceback" not in p.stderr


def test_cli_models_lists_ids():
    r = CliRunner().invoke(app, ["models", "--family", "features"])
    assert r.exit_code == 0 and "5beta-lgbm" in r.output and "features" in r.output
