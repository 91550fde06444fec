"""Known outputs through every way a model is served: `fvc predict`, the MLflow pyfunc and the web API.

Two synthetic patterns: a noisy clip (the fake pattern) and a smooth one (the real pattern). A feature model
whose weights are set by hand scores sigmoid(+10) on the noisy clip and sigmoid(-10) on the smooth one; a
deep model whose head is zero with a bias of +10 / -10 scores sigmoid(bias) on any clip. Every channel must
return those numbers, and the feature model's must equal ``predict_proba`` on features extracted by hand
with the card's settings. A channel that returned a constant, swapped its rows or replayed other settings
would miss them.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _deep_fixtures import one_torch_thread, write_letterboxed  # noqa: F401 (autouse)
from fastapi.testclient import TestClient
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from test_predict import _save_deep, card_for
from typer.testing import CliRunner

from fvc.cli import app as cli_app
from fvc.features.extract import feature_names, video_features
from fvc.models.saved import FeatureModel, save_feature_model
from fvc.predict import Predictor
from fvc.serve import ServeConfig, create_app
from fvc.workspace import Workspace

HIGH, LOW = 1 / (1 + np.exp(-10.0)), 1 / (1 + np.exp(10.0))
PATTERN = "noise_gauss_std_mean"  # the noise residual: high on the noisy clip, low on the smooth one


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return Workspace(tmp_path_factory.mktemp("known")).ensure()


@pytest.fixture(scope="module")
def clips(ws):
    """(noisy, smooth): the fake and the real pattern of the deep fixtures, at the predict tests' size."""
    noisy = write_letterboxed(ws.root / "noisy.mp4", fake=True, seed=1, frames=10, orig=(96, 54), size=96)
    smooth = write_letterboxed(ws.root / "smooth.mp4", fake=False, seed=2, frames=10, orig=(96, 54), size=96)
    return noisy, smooth


def hand_features(path, card) -> pd.DataFrame:
    return pd.DataFrame([video_features(path, card.features_config)])


def forced_feature_model(noisy, smooth) -> FeatureModel:
    """Impute, scale on the two clips (each varying column becomes +-1), then a logistic regression whose only
    weight is +-10 on the noise residual, signed so the noisy clip gets logit +10 and the smooth one -10."""
    card = card_for("5a")
    cols = feature_names()
    X = pd.concat([hand_features(noisy, card), hand_features(smooth, card)], ignore_index=True)[cols].astype(float)
    pipe = Pipeline([("impute", SimpleImputer(strategy="constant", fill_value=0.0, keep_empty_features=True)),
                     ("scale", StandardScaler()), ("clf", LogisticRegression())]).fit(X, [1, 0])
    j = cols.index(PATTERN)
    z = pipe[:-1].transform(X)[:, j]
    assert z[0] > z[1], "the noisy clip must carry more noise residual than the smooth one"
    clf = pipe.named_steps["clf"]
    clf.coef_ = np.zeros_like(clf.coef_)
    clf.coef_[0, j] = 10.0 / z[0]  # z = [+1, -1]: logits +10 and -10
    clf.intercept_ = np.zeros_like(clf.intercept_)
    return FeatureModel("5a", pipe, cols, [2], "c" * 12)


@pytest.fixture(scope="module")
def models(ws, clips):
    """results/5a: the forced feature model; results/5c: a deep model scoring sigmoid(+10); and one scoring
    sigmoid(-10) outside the results folder."""
    feat = save_feature_model(ws.results_dir / "5a", forced_feature_model(*clips), card_for("5a"))
    deep_high = _save_deep(ws, "5c", bias=10.0)
    deep_low = _save_deep(ws, "5c", folder=ws.root / "deep-low", bias=-10.0)
    return {"feature": feat, "deep_high": deep_high, "deep_low": deep_low}


def expected(model: str) -> list[float]:
    """Known probabilities for (noisy, smooth)."""
    return {"feature": [HIGH, LOW], "deep_high": [HIGH, HIGH], "deep_low": [LOW, LOW]}[model]


def test_feature_model_scores_the_patterns_as_forced_and_as_predict_proba_does(models, clips):
    pred = Predictor(models["feature"])
    probs = [p.prob_fake for p in pred.predict_files(clips)]
    assert probs == pytest.approx(expected("feature"), abs=1e-6)
    by_hand = [pred.model.predict_proba(hand_features(c, pred.card))[0, 1] for c in clips]
    assert probs == pytest.approx(by_hand, abs=1e-9)
    assert [p.verdict for p in pred.predict_files(clips)] == ["fake", "real"]


@pytest.mark.parametrize("model", ["feature", "deep_high", "deep_low"])
def test_fvc_predict_returns_the_known_outputs(ws, models, clips, model):
    res = CliRunner().invoke(cli_app, ["predict", *map(str, clips), "--model", str(models[model]),
                                       "-w", str(ws.root), "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)["predictions"]
    assert [r["video"] for r in rows] == [str(c) for c in clips]
    assert [r["prob_fake"] for r in rows] == pytest.approx(expected(model), abs=1e-6)
    assert [r["verdict"] for r in rows] == ["fake" if p >= 0.5 else "real" for p in expected(model)]


@pytest.fixture(scope="module")
def store(ws):
    from fvc.tracking.mlflow_store import open_store

    return open_store(ws)


def _pyfunc(store, model_id, path):
    import mlflow

    from fvc.tracking.model_registry import log_final_model

    run_id = store.client.create_run(store.experiment_id).info.run_id
    logged = log_final_model(store, run_id, model_id, path, register=False)
    store.client.set_terminated(run_id)
    return mlflow.pyfunc.load_model(logged.model_uri)


def test_mlflow_pyfunc_of_the_feature_model_agrees_with_predict_proba(store, models, clips):
    """The feature pyfunc takes feature columns: those extracted by hand with the card's settings."""
    model = Predictor(models["feature"])
    rows = pd.concat([hand_features(c, model.card) for c in clips], ignore_index=True)
    got = _pyfunc(store, "5a", models["feature"]).predict(rows)
    assert list(got) == pytest.approx(expected("feature"), abs=1e-6)
    assert list(got) == pytest.approx(list(model.model.predict_proba(rows)[:, 1]), abs=1e-9)


def test_mlflow_pyfunc_of_the_deep_model_returns_the_known_output(store, models, clips):
    got = _pyfunc(store, "5c", models["deep_high"]).predict(pd.DataFrame({"path": [str(c) for c in clips]}))
    assert list(got) == pytest.approx(expected("deep_high"), abs=1e-6)


@pytest.mark.parametrize("model_ref, model", [("5a", "feature"), ("5c", "deep_high")])
def test_web_api_returns_the_known_outputs(ws, models, clips, tmp_path, model_ref, model):
    got = []
    with TestClient(create_app(ws, model_ref, ServeConfig(tmp_dir=tmp_path / "uploads"))) as client:
        for clip in clips:
            with open(clip, "rb") as fh:
                res = client.post("/api/predict", files={"file": (clip.name, fh, "video/mp4")})
            assert res.status_code == 200, res.text
            assert res.json()["video"] == clip.name and res.json()["model"] == model_ref
            got.append(res.json()["prob_fake"])
    assert got == pytest.approx(expected(model), abs=1e-6)
