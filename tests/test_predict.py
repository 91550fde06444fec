"""fvc predict: feature and deep models, model references (id, folder, file, URI hook), bad files, JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from _deep_fixtures import write_letterboxed
from typer.testing import CliRunner

from fvc import predict as predict_mod
from fvc.cli import app
from fvc.config import FvcConfig
from fvc.errors import InputError
from fvc.models.deep.catalog import get_def
from fvc.predict import Predictor, predict_videos, register_model_resolver, resolve_model_path
from fvc.training.deep_cv import save_deep_model
from fvc.workspace import Workspace


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return Workspace(tmp_path_factory.mktemp("predict")).ensure()


@pytest.fixture(scope="module")
def videos(ws):
    good = write_letterboxed(ws.root / "clip.mp4", fake=True, seed=1, frames=10, orig=(96, 54), size=96)
    bad = ws.root / "broken.mp4"
    bad.write_bytes(b"\x00" * 64)
    return good, bad


def _save_deep(ws, model_id):
    d = get_def(model_id)
    resolved = d.preset("smoke")
    torch.manual_seed(0)
    model = d.build(resolved["model"])
    return save_deep_model(ws.results_dir / model_id / "model.pt", model_id, resolved, model, "h" * 12)


@pytest.mark.parametrize("model_id", ["5c", "5e", "5u"])
def test_deep_prediction_per_video(ws, videos, model_id):
    path = _save_deep(ws, model_id)
    (pred,) = Predictor(path, FvcConfig()).predict_files([videos[0]])
    assert pred.error is None and 0.0 <= pred.prob_fake <= 1.0 and pred.clips == 1
    assert pred.verdict == ("fake" if pred.prob_fake >= 0.5 else "real")
    again = predict_videos([videos[0]], model_id, ws, FvcConfig())[0]  # by id -> results/<id>/model.pt
    assert again.prob_fake == pytest.approx(pred.prob_fake)


def test_feature_model_prediction(ws, videos):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from fvc.features.extract import feature_names
    from fvc.models.feature_models import FeatureModel
    from fvc.training.results import save_model

    cols = feature_names()
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(20, len(cols))), columns=cols)
    y = np.arange(20) % 2
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    save_model(ws, "5a", FeatureModel("5a", pipe, cols, [2], "c" * 12), "c" * 12)
    good, bad = videos
    preds = predict_videos([good, bad], "5a", ws, FvcConfig())
    assert preds[0].error is None and 0.0 <= preds[0].prob_fake <= 1.0
    assert preds[1].prob_fake is None and "broken.mp4" in preds[1].error


def test_model_references(ws, tmp_path):
    path = _save_deep(ws, "5c")
    assert resolve_model_path("5c", ws) == path
    assert resolve_model_path(str(path.parent), ws) == path
    assert resolve_model_path(str(path), ws) == path
    with pytest.raises(InputError, match="unknown model"):
        resolve_model_path("nope", ws)
    with pytest.raises(InputError, match="has not been trained"):
        resolve_model_path("5q", ws)
    empty = tmp_path / "run"
    empty.mkdir()
    with pytest.raises(InputError, match="no model.pt or model.joblib"):
        resolve_model_path(str(empty), ws)


def test_registry_uri_goes_through_resolver_hook(ws, monkeypatch):
    path = _save_deep(ws, "5c")
    seen = []

    def fake_registry(uri, w):
        seen.append(uri)
        return path if uri == "models:/fvc-5c@champion" else None

    monkeypatch.setattr(predict_mod, "_RESOLVERS", [])
    register_model_resolver(fake_registry)
    assert resolve_model_path("models:/fvc-5c@champion", ws) == path and seen == ["models:/fvc-5c@champion"]
    with pytest.raises(InputError, match="no registered model"):
        resolve_model_path("models:/fvc-5x@champion", ws)


def test_cli_json_reports_bad_file_and_continues(ws, videos):
    _save_deep(ws, "5c")
    good, bad = videos
    res = CliRunner().invoke(app, ["predict", str(good), str(bad), "--model", "5c", "-w", str(ws.root), "--json"])
    assert res.exit_code == 1  # some files failed; the others are still scored
    out = json.loads(res.stdout)
    rows = {r["video"]: r for r in out["predictions"]}
    assert rows[str(good)]["prob_fake"] is not None and rows[str(good)]["error"] is None
    assert "broken.mp4" in rows[str(bad)]["error"]
    table = CliRunner().invoke(app, ["predict", str(good), "--model", "5c", "-w", str(ws.root)])
    assert table.exit_code == 0 and "prob_fake" in table.stdout
