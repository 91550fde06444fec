"""Registry end to end: `fvc train` logs and registers, `fvc promote` picks the champion,
``models:/fvc-<id>@champion`` loads back as a pyfunc and predicts."""

from __future__ import annotations

import os

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

import mlflow
import numpy as np
import pandas as pd
import pytest

from fvc.errors import FvcError, InputError
from fvc.tracking.mlflow_store import open_store
from fvc.tracking.model_registry import candidates, choose_champion, promote, resolve_model_uri
from fvc.tracking.requirements import pip_requirements
from fvc.workspace import Workspace


def _fvc(capsys, *args):
    from fvc.cli import main

    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny feature table, and `fvc train --model 5a,5b` through the CLI (default tracking on)."""
    ws = Workspace(tmp_path_factory.mktemp("ws")).ensure()
    rng = np.random.default_rng(1)
    n = 36
    label = np.array([1, 0] * (n // 2))
    df = pd.DataFrame({
        "video_id": [f"v{i}" for i in range(n)],
        "noise_energy": rng.normal(size=n) + 1.2 * label,
        "dct_hf_ratio": rng.normal(size=n),
        "sharp_lap_var": rng.normal(size=n) - 0.5 * label,
        "codec_bpp": rng.normal(size=n),
    })
    df["source_video_id"] = df["video_id"]
    df["fold"] = np.arange(n) % 3
    df["label"] = label
    df["error"] = None
    ws.write("features_stage2", df)
    ws.write("splits", df[["video_id", "fold", "label"]].assign(group_id=df["video_id"], cascade_id=df["video_id"]))
    mp = pytest.MonkeyPatch()
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    mp.setenv("CI", "true")
    from fvc.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["train", "--model", "5a,5b", "-w", str(ws.root)])
    mp.undo()
    assert exc.value.code == 0
    return ws, open_store(ws)


def test_train_registers_each_model(trained):
    ws, store = trained
    cands = candidates(store)
    assert sorted(cands["name"]) == ["fvc-5a", "fvc-5b"]
    assert cands["cv_roc_auc"].notna().all()
    for model_id in ("5a", "5b"):
        mv = store.client.get_model_version(f"fvc-{model_id}", "1")
        run = store.client.get_run(mv.run_id)
        assert run.data.tags["fvc.kind"] == "model" and run.data.params["model"] == model_id
        assert float(mv.tags["cv_roc_auc"]) == pytest.approx(run.data.metrics["roc_auc_mean"], abs=1e-6)
        print(f"\nlog_model {model_id}: {run.data.metrics['log_model_seconds']:.3f} s")
    logs = sorted((ws.root / "experiments").glob("*.jsonl"))
    assert len(logs) == 2 and not (ws.root.parent / "mlruns").exists()


def test_pip_requirements_are_pinned_and_follow_the_model():
    from sklearn.svm import SVC

    reqs = pip_requirements(SVC())
    assert any(r.startswith("scikit-learn==") for r in reqs) and any(r.startswith("mlflow==") for r in reqs)
    assert not any(r.startswith("xgboost") for r in reqs)
    from xgboost import XGBClassifier

    assert any(r.startswith("xgboost==") for r in pip_requirements(XGBClassifier()))


def test_promote_and_load_champion(trained, capsys):
    ws, store = trained
    code, out, err = _fvc(capsys, "promote", "-w", str(ws.root))
    assert code == 0, err
    cands = candidates(store)
    best = cands.iloc[0]
    assert best["aliases"] == "champion" and (cands["aliases"].iloc[1:] == "").all()
    assert f"models:/{best['name']}@champion" in out
    model = mlflow.pyfunc.load_model(f"models:/{best['name']}@champion")
    feats = ws.read("features_stage2")
    prob = model.predict(feats[["noise_energy", "dct_hf_ratio", "sharp_lap_var", "codec_bpp"]])
    assert prob.shape == (len(feats),) and ((prob >= 0) & (prob <= 1)).all()
    # a fake-heavy feature shift raises the fake probability: the model really is the trained one
    assert prob[feats["label"] == 1].mean() > prob[feats["label"] == 0].mean()
    names = set(model.metadata.get_input_schema().input_names())
    assert names == {"noise_energy", "dct_hf_ratio", "sharp_lap_var", "codec_bpp"}
    resolved = resolve_model_uri(store, f"models:/{best['name']}@champion")
    assert resolved.model_id == best["name"][4:] and resolved.model_path.name == "model.joblib"
    assert resolved.model_path.is_relative_to(ws.cache_dir)


def test_promote_within_one_model_keeps_other_aliases(trained):
    ws, store = trained
    promote(store)  # global champion first: under xdist this test may not follow the CLI promote test
    before = candidates(store)
    other = before.iloc[1]["name"]
    res = promote(store, model_id=other[4:])
    assert res["name"] == other
    aliases = dict(zip(candidates(store)["name"], candidates(store)["aliases"]))
    assert aliases == {"fvc-5a": "champion", "fvc-5b": "champion"}


def test_registry_errors_are_one_line(trained, tmp_path):
    ws, store = trained
    with pytest.raises(InputError, match="not in the registry") as err:
        resolve_model_uri(store, "models:/fvc-nosuch@champion")
    assert "\n" not in str(err.value)
    with pytest.raises(FvcError, match="no registered model 'fvc-zz' version"):
        promote(store, model_id="zz")


def test_resolve_model_ref(trained):
    from fvc.models.saved import load_model
    from fvc.tracking.model_registry import resolve_model_ref

    ws, _ = trained
    assert resolve_model_ref(ws, "5a") == ws.results_dir / "5a" / "model.joblib"
    path = resolve_model_ref(ws, "models:/fvc-5a/1")
    assert path.is_relative_to(ws.cache_dir)
    model, card = load_model(path)  # the card travelled with the registered model
    feats = ws.read("features_stage2")
    assert model.predict_proba(feats).shape == (len(feats), 2) and card.model_id == "5a" and card.preset == "full"


def _cands(rows):
    cols = ["name", "version", "preset", "cv_roc_auc", "cv_roc_auc_std", "n_folds", "cv_log_loss"]
    return pd.DataFrame([dict(zip(cols, r)) for r in rows]).sort_values("cv_roc_auc", ascending=False,
                                                                       ignore_index=True)


def test_champion_rule_ties_within_one_standard_error_go_to_lower_log_loss():
    # A leads by 0.01; its standard error is 0.05 / sqrt(5) = 0.022: a tie, and B has the lower log loss.
    c = _cands([("fvc-A", 1, "full", 0.80, 0.05, 5, 0.60), ("fvc-B", 1, "full", 0.79, 0.05, 5, 0.40),
                ("fvc-C", 1, "full", 0.70, 0.05, 5, 0.10)])
    best, why = choose_champion(c)
    assert best["name"] == "fvc-B" and "tied" in why and "fvc-A v1" in why and "fvc-C" not in why
    # A clear lead wins whatever the log loss.
    c = _cands([("fvc-A", 1, "full", 0.90, 0.01, 5, 0.69), ("fvc-B", 1, "full", 0.80, 0.01, 5, 0.10)])
    best, why = choose_champion(c)
    assert best["name"] == "fvc-A" and "highest mean CV ROC-AUC" in why


def test_champion_rule_leaves_smoke_models_out_unless_allowed():
    c = _cands([("fvc-5c", 1, "smoke", 0.95, 0.01, 5, 0.69), ("fvc-5a", 1, "full", 0.70, 0.01, 5, 0.5)])
    assert choose_champion(c)[0]["name"] == "fvc-5a"
    assert choose_champion(c, allow_smoke=True)[0]["name"] == "fvc-5c"
    with pytest.raises(FvcError, match="--allow-smoke"):
        choose_champion(c[c["preset"] == "smoke"])
