"""fvc explain: tree SHAP and linear contributions add up to the model's logit, Grad-CAM maps have the clip's
shape and are not flat, windows cover the video, the OOD check warns far from the training rows, and the CLI
writes one JSON document plus its PNGs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _deep_fixtures import one_torch_thread, write_letterboxed  # noqa: F401  (autouse: one torch thread)
from test_predict import _save_deep, card_for
from typer.testing import CliRunner

from fvc.cli import app
from fvc.config import FeaturesConfig
from fvc.explain import SCHEMA, explain_video
from fvc.explain.attribution import contributions
from fvc.explain.timeline import windows
from fvc.features.extract import feature_names, video_features
from fvc.models import get_model
from fvc.models.saved import FeatureModel, save_feature_model
from fvc.models.training_summary import distance, summarize
from fvc.predict import Predictor
from fvc.workspace import Workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return Workspace(tmp_path_factory.mktemp("explain")).ensure()


@pytest.fixture(scope="module")
def video(ws):
    return write_letterboxed(ws.root / "clip.mp4", fake=True, seed=1, frames=45, orig=(96, 54), size=96)


def training_rows(video) -> pd.DataFrame:
    """80 rows scattered around ``video``'s stage-2 features: the training videos of the fixtures' models."""
    cols = feature_names()
    ref = pd.Series(video_features(video, FeaturesConfig()))[cols].astype(float).fillna(0.0)
    rng = np.random.default_rng(0)
    return pd.DataFrame(ref.to_numpy() + rng.normal(size=(80, len(cols))) * (ref.abs().to_numpy() + 1.0),
                        columns=cols)


def fitted_feature_model(model_id: str, video) -> FeatureModel:
    """The catalog's own Pipeline for ``model_id``, fitted on rows around ``video`` so its score is not saturated."""
    X = training_rows(video)
    cols = list(X.columns)
    ref = pd.Series(video_features(video, FeaturesConfig()))[cols].astype(float).fillna(0.0)
    y = (X[cols[:4]].sum(axis=1) > ref[cols[:4]].sum()).astype(int).to_numpy()
    entry = get_model(model_id)
    pipe = entry.build(entry.preset("full")["model"]).fit(X, y)
    return FeatureModel(model_id, pipe, cols, [2], "c" * 12)


def _predictor(ws, model_id, video):
    X = training_rows(video)
    card = card_for(model_id, training_summary=summarize(X, list(X.columns)))
    path = save_feature_model(ws.results_dir / model_id, fitted_feature_model(model_id, video), card)
    return Predictor(path)


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


@pytest.mark.parametrize("model_id", ["5beta-xgb", "5beta-lgbm", "5beta-cat"])
def test_tree_contributions_sum_to_logit(ws, video, tmp_path, model_id):
    pred = _predictor(ws, model_id, video)
    doc = explain_video(pred, video, tmp_path)
    p = doc["verdict"]["prob_fake"]
    assert p == pytest.approx(pred.predict_file(video).prob_fake)
    ev = doc["evidence"]
    assert "SHAP" in ev["method"] or "ShapValues" in ev["method"]
    total = ev["base_value"] + sum(f["contribution"] for f in ev["families"])
    assert total == pytest.approx(_logit(p), abs=1e-3)
    assert {f["family"] for f in ev["families"]} <= {"noise", "dct", "sharpness", "blocking", "temporal", "codec",
                                                     "local_noise", "local_texture", "discontinuity", "motion", "gop"}
    assert all(f["reading"] for f in ev["families"])


def test_linear_contributions_are_coefficient_times_standardised_value(ws, video, tmp_path):
    pred = _predictor(ws, "5a", video)
    X = pd.DataFrame([pred.feature_row(video, tmp_path)])[pred.model.columns].astype("float64")
    c = contributions(pred.model.pipeline, X)
    pipe = pred.model.pipeline
    z = np.asarray(pipe[:-1].transform(X), dtype=float)[0]
    clf = pipe[-1]
    np.testing.assert_allclose(c["values"][0], clf.coef_[0] * z, rtol=1e-9)
    assert c["values"][0].sum() + c["bias"][0] == pytest.approx(float(pipe.decision_function(X)[0]))
    doc = explain_video(pred, video, tmp_path / "doc")
    assert doc["evidence"]["logit"] == pytest.approx(_logit(doc["verdict"]["prob_fake"]), abs=1e-6)


def test_svm_says_it_has_no_attribution(ws, video, tmp_path):
    doc = explain_video(_predictor(ws, "5b", video), video, tmp_path)
    assert doc["evidence"]["method"] is None and "CalibratedClassifierCV" in doc["evidence"]["reason"]
    assert doc["evidence"]["families"] == []


def test_windows_cover_the_video():
    segs = windows(95, 30.0)
    assert [(s.lo, s.hi) for s in segs] == [(0, 60), (60, 95)]
    assert segs[0].start_s == 0 and segs[-1].end_s == pytest.approx(95 / 30)
    assert [(s.lo, s.hi) for s in windows(65, 30.0)] == [(0, 65)]  # a 5-frame tail joins the last window


def test_feature_timeline_and_ood(ws, video, tmp_path):
    pred = _predictor(ws, "5a", video)
    doc = explain_video(pred, video, tmp_path)
    segs = doc["timeline"]["segments"]
    assert len(segs) == len(windows(45, 10.0)) == 2 and doc["timeline"]["unit"] == "window"
    assert all(0 <= s["prob_fake"] <= 1 for s in segs)
    assert [k["segment"] for k in doc["keyframes"]] == [0, 1]
    assert all((tmp_path / k["image"]).exists() for k in doc["keyframes"])
    assert doc["ood"]["available"] and not doc["ood"]["warning"]  # the training rows surround this video
    assert doc["ood"]["rms_z"] < 1.5 and doc["ood"]["n_features"] > 20
    row = pred.feature_row(video, tmp_path)
    far = distance(pred.card.training_summary, {k: v * 1e4 + 1e6 for k, v in row.items()})
    assert far["warning"] and far["rms_z"] > 3
    assert doc["codec"]["codec"] == "h264" and doc["codec"]["width"] == 96


def test_gradcam_for_a_3d_cnn(ws, video, tmp_path):
    X = training_rows(video)
    pred = Predictor(_save_deep(ws, "5c", training_summary=summarize(X, list(X.columns))))
    doc = explain_video(pred, video, tmp_path)
    ev = doc["evidence"]
    spec = pred.data.clip
    assert ev["cam_shape"] == [spec.frames, spec.size, spec.size]
    from fvc.explain.gradcam import grad_cam

    with __import__("tempfile").TemporaryDirectory() as tmp:
        from pathlib import Path

        inputs = pred.clip_inputs(*pred.scaled(video, Path(tmp)))
    cam = grad_cam(pred.model, inputs.batch)
    assert cam.shape == tuple(inputs.batch["clip"].shape[2:]) and cam.shape[1:] == (spec.size, spec.size)
    assert cam.std() > 1e-3 and cam.max() == pytest.approx(1.0)
    assert ev["images"] and all((tmp_path / i["image"]).exists() for i in ev["images"])
    assert doc["timeline"]["unit"] == "clip" and len(doc["timeline"]["segments"]) >= 2
    assert doc["verdict"]["prob_fake"] == pytest.approx(pred.predict_file(video).prob_fake, rel=1e-5)
    assert doc["ood"]["available"] and not doc["ood"]["warning"]  # the same check as for feature models


def test_deep_model_far_from_its_training_videos_warns(ws, video, tmp_path):
    X = training_rows(video) * 50 + 1e3  # trained on videos unlike this one
    pred = Predictor(_save_deep(ws, "5c", folder=tmp_path / "m", training_summary=summarize(X, list(X.columns))))
    doc = explain_video(pred, video, tmp_path / "doc")
    assert doc["ood"]["available"] and doc["ood"]["warning"] and doc["ood"]["rms_z"] > 3


def test_a_card_without_a_summary_says_why_there_is_no_check(ws, video, tmp_path):
    pred = Predictor(_save_deep(ws, "5c", folder=tmp_path / "m"))
    doc = explain_video(pred, video, tmp_path / "doc")
    assert not doc["ood"]["available"] and not doc["ood"]["warning"] and "retrain" in doc["ood"]["reason"]


def test_cli_writes_json_and_pngs(ws, video, tmp_path):
    _predictor(ws, "5a", video)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["explain", str(video), "--model", "5a", "-w", str(ws.root), "--out", str(out),
                                   "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["schema"] == SCHEMA and json.loads((out / "explain.json").read_text()) == doc
    assert doc["images"] and all((out / name).exists() for name in doc["images"])
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    res = CliRunner().invoke(app, ["explain", str(bad), "--model", "5a", "-w", str(ws.root), "--out", str(out)])
    assert res.exit_code != 0 and isinstance(res.exception, Exception)
