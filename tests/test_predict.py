"""fvc predict: feature and deep models replayed from their model cards, known outputs, model references,
bad files, JSON; the workspace's fvc.yaml never changes a prediction."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from _deep_fixtures import one_torch_thread, write_letterboxed  # noqa: F401 (autouse)
from typer.testing import CliRunner

from fvc.cli import app
from fvc.config import FeaturesConfig, ScaleConfig, load_config, save_config
from fvc.errors import InputError
from fvc.models import get_model
from fvc.models.saved import FeatureModel, ModelCard, save_deep_model, save_feature_model
from fvc.predict import Predictor, predict_videos, resolve_model_path
from fvc.tracking.model_registry import resolve_model_ref
from fvc.workspace import Workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return Workspace(tmp_path_factory.mktemp("predict")).ensure()


@pytest.fixture(scope="module")
def videos(ws):
    good = write_letterboxed(ws.root / "clip.mp4", fake=True, seed=1, frames=10, orig=(96, 54), size=96)
    bad = ws.root / "broken.mp4"
    bad.write_bytes(b"\x00" * 64)
    return good, bad


def card_for(model_id: str, resolved: dict | None = None, scale_size: int = 96, min_frames: int = 5,
             training_summary: dict | None = None) -> ModelCard:
    entry = get_model(model_id)
    data = entry.data_config(resolved) if resolved is not None else entry.data_config()
    return ModelCard(model_id=model_id, name=entry.name, family=entry.family, preset="smoke", data=data.as_dict(),
                     features=FeaturesConfig(min_frames=min_frames).model_dump(),
                     scale=ScaleConfig(size=scale_size).model_dump(), config_hash="h" * 12,
                     data_fingerprint="d" * 12, model_kwargs=dict(resolved["model"]) if resolved else {},
                     training_summary=training_summary or {})


def _save_deep(ws, model_id, folder=None, bias: float | None = None, **card_kw):
    entry = get_model(model_id)
    resolved = entry.preset("smoke")
    torch.manual_seed(0)
    model = entry.build(resolved["model"])
    if bias is not None:  # a known output: every clip scores sigmoid(bias)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.startswith(model.head_prefixes):
                    p.zero_()
            model.head.proj.bias.fill_(bias)
    return save_deep_model(folder or ws.results_dir / model_id, model, card_for(model_id, resolved, **card_kw))


@pytest.mark.parametrize("model_id", ["5c", "5e", "5u", "5k", "5l", "5m", "5n"])
def test_deep_prediction_per_video(ws, videos, model_id):
    path = _save_deep(ws, model_id)
    (pred,) = Predictor(path).predict_files([videos[0]])
    assert pred.error is None and 0.0 <= pred.prob_fake <= 1.0 and pred.clips == 1
    assert pred.verdict == ("fake" if pred.prob_fake >= 0.5 else "real")
    again = predict_videos([videos[0]], resolve_model_path(model_id, ws))[0]  # by id -> results/<id>/model.pt
    assert again.prob_fake == pytest.approx(pred.prob_fake)


@pytest.mark.parametrize("bias, expected", [(10.0, 1 / (1 + np.exp(-10.0))), (-10.0, 1 / (1 + np.exp(10.0)))])
def test_deep_known_output(ws, videos, tmp_path, bias, expected):
    path = _save_deep(ws, "5c", folder=tmp_path / "known", bias=bias)
    (pred,) = Predictor(path).predict_files([videos[0]])
    assert pred.prob_fake == pytest.approx(expected, rel=1e-5)
    assert pred.verdict == ("fake" if bias > 0 else "real")


def _feature_model(video) -> FeatureModel:
    """A logistic regression on stage-2 features, fitted around the features of ``video`` so that its
    score lands mid-range (a saturated 0 or 1 would hide a change of preprocessing)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from fvc.features.extract import feature_names, video_features

    cols = feature_names()
    ref = pd.Series(video_features(video, FeaturesConfig()))[cols].astype(float).fillna(0.0)
    rng = np.random.default_rng(0)
    X = pd.DataFrame(ref.to_numpy() + rng.normal(size=(60, len(cols))) * (ref.abs().to_numpy() + 1.0), columns=cols)
    y = (X[cols[:4]].sum(axis=1) > ref[cols[:4]].sum()).astype(int).to_numpy()
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=0.05)).fit(X, y)
    return FeatureModel("5a", pipe, cols, [2], "c" * 12)


def test_feature_model_prediction(ws, videos):
    save_feature_model(ws.results_dir / "5a", _feature_model(videos[0]), card_for("5a"))
    good, bad = videos
    preds = predict_videos([good, bad], resolve_model_path("5a", ws))
    assert preds[0].error is None and 0.0 <= preds[0].prob_fake <= 1.0
    assert preds[1].prob_fake is None and "broken.mp4" in preds[1].error
    # the same number as predict_proba on the features extracted by hand with the card's settings
    from fvc.features.extract import video_features

    model, card = Predictor(resolve_model_path("5a", ws)).model, Predictor(resolve_model_path("5a", ws)).card
    row = pd.DataFrame([video_features(good, card.features_config)])
    assert preds[0].prob_fake == pytest.approx(model.predict_proba(row)[0, 1])


def test_predictions_replay_the_card_not_the_workspace_config(ws, videos, tmp_path):
    """Change fvc.yaml (scale size, feature sampling) after training: the probabilities do not move.
    A card with another scale size does move them, so the card really is what is replayed."""
    good = videos[0]
    deep = _save_deep(ws, "5c", folder=tmp_path / "deep", scale_size=96)
    feat = save_feature_model(tmp_path / "feat", _feature_model(good), card_for("5a"))

    def cli_probs(model_path):
        res = CliRunner().invoke(app, ["predict", str(good), "--model", str(model_path), "-w", str(ws.root), "--json"])
        assert res.exit_code == 0, res.output
        return json.loads(res.stdout)["predictions"][0]["prob_fake"]

    before = [cli_probs(deep), cli_probs(feat)]
    cfg = load_config(ws)
    cfg.scale.size, cfg.features.min_frames, cfg.features.sample_fraction = 48, 10, 1.0
    save_config(ws, cfg)
    after = [cli_probs(deep), cli_probs(feat)]
    other = cli_probs(_save_deep(ws, "5c", folder=tmp_path / "deep48", scale_size=48))
    dense = cli_probs(save_feature_model(tmp_path / "feat5", _feature_model(good), card_for("5a", min_frames=10)))
    assert after == pytest.approx(before, abs=1e-6)
    assert 0.05 < before[1] < 0.95
    assert other != pytest.approx(before[0], abs=1e-6)
    assert dense != pytest.approx(before[1], abs=1e-6)


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


def test_model_ref_passes_ids_and_paths_to_predict(ws):
    path = _save_deep(ws, "5c")
    assert resolve_model_ref(ws, "5c") == path and resolve_model_ref(ws, str(path.parent)) == path


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


def test_a_bug_in_our_code_is_raised_not_saved_as_the_videos_error(ws, videos, monkeypatch):
    save_feature_model(ws.results_dir / "5a", _feature_model(videos[0]), card_for("5a"))
    pred = Predictor(resolve_model_path("5a", ws))

    def broken(*_args, **_kw):
        raise KeyError("a column our own code forgot")

    monkeypatch.setattr(Predictor, "feature_row", broken)
    with pytest.raises(KeyError, match="forgot"):
        pred.predict_file(videos[0])


def test_predict_exit_codes_are_the_readme_s(ws, videos, capsys):
    """0 all scored, 1 some videos failed, 2 bad input: the table in README.md says the same."""
    from fvc.cli import main

    _save_deep(ws, "5c")
    good, bad = videos

    def code(*args):
        with pytest.raises(SystemExit) as exc:
            main(["predict", *map(str, args), "-w", str(ws.root)])
        capsys.readouterr()
        return exc.value.code

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| (\d+) \| (.+) \|$", readme, re.M))
    assert code(good, "--model", "5c") == 0 and table["0"] == "done"
    assert code(good, bad, "--model", "5c") == 1 and "`fvc predict`" in table["1"]
    assert code(good, "--model", "nope") == 2 and "unknown model" in table["2"]
