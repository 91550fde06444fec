"""`Predictor` replays each part of a model card, checked against the same steps done by hand: the stage-4
features of the card's scaling (size, preset, crf) and its up/down-scaled flags, the mean ensemble of saved
members, the embedding models (5f-5j: backbone -> pooled clip features -> Pipeline), the threshold, the error
rows, and the card checks that refuse what predict cannot replay.

Models here have hand-set weights over every column so that any changed input value moves the probability,
and the probabilities sit mid-range, where a change shows.
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest
from _deep_fixtures import one_torch_thread, write_letterboxed  # noqa: F401 (autouse)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from test_predict import card_for

from fvc.errors import InputError
from fvc.features.columns import feature_columns
from fvc.features.extract import video_features
from fvc.models import get_model
from fvc.models.saved import (ENSEMBLE_MEMBERS, EmbeddingModel, EnsembleModel, FeatureModel, save_embedding_model,
                              save_ensemble_model, save_feature_model)
from fvc.predict import Prediction, Predictor, predict_videos, resolve_model_path
from fvc.scale.letterbox import letterbox_video
from fvc.video.encode import EncodeSettings
from fvc.workspace import Workspace

SCALE = {"size": 64, "preset": "ultrafast", "crf": 33}  # not the defaults (256, veryfast, 20): replayed from the card


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return Workspace(tmp_path_factory.mktemp("replay")).ensure()


@pytest.fixture(scope="module")
def video(ws):
    return write_letterboxed(ws.root / "clip.mp4", fake=True, seed=3, frames=10, orig=(96, 54), size=96)


def stage4_card(**scale):
    card = card_for("5alpha")
    card.scale = {**card.scale, **SCALE, **scale}
    return card


def by_hand_row(path: Path, card, tmp: Path) -> dict:
    """Stage 2 of the file, plus stage 4 of its letterbox at the card's size and encoder settings."""
    fcfg = card.features_config
    row = video_features(path, fcfg)
    sc = card.scale_config
    info = letterbox_video(path, tmp / "by-hand.mp4", sc.size, EncodeSettings(options={"preset": sc.preset,
                                                                                         "crf": str(sc.crf)}))
    s4 = video_features(tmp / "by-hand.mp4", fcfg)
    g = info["geometry"]
    s4 |= {"is_upscaled": float(g.is_upscaled), "is_downscaled": float(g.is_downscaled)}
    return row | {f"s4_{c}": s4[c] for c in feature_columns(s4)}


def sensitive_model(row: dict, columns: list[str], model_id: str, stages: list[int], offset: float = 0.3,
                    seed: int = 0) -> FeatureModel:
    """A logistic regression with a weight on every column (scaled by the column's size) and the intercept that
    puts ``row`` at logit ``offset``: a change of any one value moves the probability."""
    x = pd.DataFrame([row])[columns].astype(float).fillna(0.0)
    pipe = Pipeline([("impute", SimpleImputer(strategy="constant", fill_value=0.0, keep_empty_features=True)),
                     ("clf", LogisticRegression())]).fit(pd.concat([x, x + 1.0]), [0, 1])
    rng = np.random.default_rng(seed)
    clf = pipe.named_steps["clf"]
    v = x.to_numpy()[0]
    clf.coef_ = (rng.choice([-1.0, 1.0], size=len(columns)) * 0.05 / (np.abs(v) + 1.0))[None, :]
    clf.intercept_ = np.array([offset - float(clf.coef_[0] @ v)])
    return FeatureModel(model_id, pipe, columns, stages, "c" * 12)


@pytest.fixture(scope="module")
def stage4_model(ws, video, tmp_path_factory):
    card = stage4_card()
    row = by_hand_row(video, card, tmp_path_factory.mktemp("hand"))
    cols = sorted(c for c in row if c.startswith("s4_")) + sorted(feature_columns(
        [c for c in row if not c.startswith("s4_")]))
    assert {"s4_is_upscaled", "s4_is_downscaled"} <= set(cols)
    path = save_feature_model(ws.root / "m-s4", sensitive_model(row, cols, "5alpha", [2, 4]), card)
    return path, row


def test_stage4_replay_gives_predict_proba_of_the_features_made_by_hand(stage4_model, video):
    path, row = stage4_model
    assert row["s4_is_downscaled"] == 1.0 and row["s4_is_upscaled"] == 0.0  # 96 -> 64
    pred = Predictor(path)
    got = pred.predict_file(video)
    want = pred.model.predict_proba(pd.DataFrame([row]))[0, 1]
    assert want == pytest.approx(1 / (1 + np.exp(-0.3)))
    assert got.prob_fake == pytest.approx(want, abs=1e-9) and got.clips == 1 and got.verdict == "fake"


@pytest.mark.parametrize("change", [{"size": 48}, {"crf": 20}, {"preset": "veryfast"}])
def test_stage4_replay_follows_the_cards_scale_settings(stage4_model, video, ws, change):
    """The same model with another scale size, crf or preset in its card scores the video differently."""
    path, _ = stage4_model
    model = Predictor(path).model
    other = save_feature_model(ws.root / f"m-s4-{next(iter(change))}", model, stage4_card(**change))
    assert Predictor(other).predict_file(video).prob_fake != pytest.approx(Predictor(path).predict_file(video)
                                                                           .prob_fake, abs=1e-9)


def test_stage2_model_never_scales(stage4_model, video, ws, monkeypatch):
    path, row = stage4_model
    cols = sorted(c for c in row if not c.startswith("s4_") and c in feature_columns(row))
    s2 = save_feature_model(ws.root / "m-s2", sensitive_model(row, cols, "5a", [2]), card_for("5a"))
    pred = Predictor(s2)

    def no_scaling(*a, **kw):
        raise AssertionError("a stage-2 model scaled the video")

    monkeypatch.setattr(Predictor, "scaled", no_scaling)
    assert pred.predict_file(video).prob_fake == pytest.approx(1 / (1 + np.exp(-0.3)), abs=1e-9)


def test_threshold_decides_the_verdict_and_equality_is_fake(stage4_model, video, monkeypatch):
    path, _ = stage4_model
    p = 1 / (1 + np.exp(-0.3))
    assert Predictor(path, threshold=p - 1e-6).predict_file(video).verdict == "fake"
    assert Predictor(path, threshold=p + 1e-6).predict_file(video).verdict == "real"
    assert [r.verdict for r in predict_videos([video], path, threshold=0.6)] == ["real"]
    assert [r.verdict for r in predict_videos([video], path)] == ["fake"]
    monkeypatch.setattr(Predictor, "_score", lambda self, p, tmp: (0.25, 1))  # a score exactly at the threshold
    assert Predictor(path, threshold=0.25).predict_file(video).verdict == "fake"


def test_error_rows_name_the_file_and_carry_no_score(stage4_model, ws, monkeypatch):
    path, _ = stage4_model
    bad = ws.root / "broken.mp4"
    bad.write_bytes(b"\x00" * 64)
    row = Predictor(path).predict_file(bad)
    assert (row.video, row.prob_fake, row.verdict, row.clips) == (str(bad), None, None, None)
    assert row.error.startswith(str(bad)) and row.as_row() == {"video": str(bad), "prob_fake": None,
                                                               "verdict": None, "clips": None, "error": row.error}

    def decoder_surprise(self, p, tmp):
        raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")

    monkeypatch.setattr(Predictor, "_score", decoder_surprise)
    row = Predictor(path).predict_file(bad)
    assert (row.video, row.prob_fake, row.verdict, row.clips) == (str(bad), None, None, None)
    assert row.error.startswith(f"{bad}: cannot decode (")
    assert "Invalid data found" in row.error


def test_prediction_row_has_the_documented_keys():
    assert Prediction("v.mp4", 0.25, "real", 3).as_row() == {"video": "v.mp4", "prob_fake": 0.25, "verdict": "real",
                                                             "clips": 3, "error": None}


def test_card_of_another_scaling_is_refused_with_one_line(stage4_model, ws):
    path, _ = stage4_model
    model = Predictor(path).model
    ae = stage4_card(method="autoencoder")
    p = save_feature_model(ws.root / "m-ae", model, ae)
    with pytest.raises(InputError, match=r"model.joblib: predict replays letterbox scaling only, this model was "
                                         r"trained on 'autoencoder'$"):
        Predictor(p)
    card = stage4_card()
    card.data = {**card.data, "scale": "autoencoder"}  # the data contract says so, the scale section does not
    p = save_feature_model(ws.root / "m-ae2", model, card)
    with pytest.raises(InputError, match="predict replays letterbox scaling only"):
        Predictor(p)


def test_card_checks_of_the_saved_model(stage4_model, ws, tmp_path):
    path, _ = stage4_model
    pred = Predictor(path)
    card = json.loads((path.parent / "model.json").read_text())
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model.joblib").write_bytes(path.read_bytes())
    (folder / "model.json").write_text(json.dumps({**card, "family": "quantum"}))
    with pytest.raises(InputError, match=r"model.joblib: its card names an unknown model family 'quantum' \(known: "
                                         r"features, deep, embedding, ensemble\)$"):
        Predictor(folder / "model.joblib")
    trimmed = FeatureModel("5alpha", pred.model.pipeline, pred.model.columns + ["s4_no_such_column"], [2, 4], "c")
    p = save_feature_model(tmp_path / "extra", trimmed, stage4_card())
    (row,) = Predictor(p).predict_files([Path(ws.root / "clip.mp4")])
    assert row.prob_fake is None and "needs columns missing here: ['s4_no_such_column']" in row.error


def test_ensemble_is_the_mean_of_its_members(stage4_model, video, ws, tmp_path):
    """Two feature members (stage 2+4 and stage 2): the ensemble's probability is their mean, its clip count
    their sum, whether it is loaded by file or by folder."""
    path, row = stage4_model
    folder = tmp_path / "ens"
    s4 = Predictor(path).model
    cols2 = sorted(c for c in row if not c.startswith("s4_") and c in feature_columns(row))
    members = {"5alpha": (s4, stage4_card()),
               "5a": (sensitive_model(row, cols2, "5a", [2], offset=-1.0, seed=1), card_for("5a"))}
    for mid, (model, card) in members.items():
        save_feature_model(folder / ENSEMBLE_MEMBERS / mid, model, card)
    ens_card = card_for("ens")
    saved = save_ensemble_model(folder, EnsembleModel("ens", list(members)), ens_card)
    solo = [Predictor(folder / ENSEMBLE_MEMBERS / m).predict_file(video).prob_fake for m in members]
    assert solo == pytest.approx([1 / (1 + np.exp(-0.3)), 1 / (1 + np.exp(1.0))], abs=1e-9)
    for ref in (saved, folder):
        got = Predictor(ref, threshold=0.45).predict_file(video)
        assert got.prob_fake == pytest.approx(np.mean(solo), abs=1e-9) and got.clips == 2
        assert got.verdict == "real"  # mean 0.421 < 0.45 although one member says fake
    assert resolve_model_path(str(folder), ws) == saved


def test_embedding_model_scores_the_pooled_backbone_features(ws, tmp_path):
    """5j from its saved model: the card's letterbox and clips (two per video), the backbone's clip features,
    mean and std over the clips, then the Pipeline; by hand from the same steps, mid-range."""
    import torch

    from fvc.training.embeddings import clip_embeddings, embedding_columns, pool_videos

    entry, bb = get_model("5j"), get_model("5l")
    resolved, bres = entry.preset("smoke"), bb.preset("smoke")
    torch.manual_seed(0)
    backbone = bb.build(bres["model"]).eval()
    card = card_for("5j", resolved)
    card.data["clip"]["clips_per_video"] = 2
    card.model_kwargs = dict(bres["model"])
    video = write_letterboxed(tmp_path / "v.mp4", fake=False, seed=5, frames=12, orig=(96, 54), size=96)
    # the pooled features by hand: letterbox, two clips, the backbone, mean/std over the clips
    probe = save_embedding_model(tmp_path / "probe", EmbeddingModel("5j", "5l", backbone, None, []), card)
    p = Predictor(probe)
    inputs = p.clip_inputs(*p.scaled(video, tmp_path))
    assert len(inputs.frames) == 2 and inputs.clips.shape[0] == 2
    feats, _ = clip_embeddings(backbone, [inputs.batch])
    assert feats.shape[0] == 2 and not np.allclose(feats[0], feats[1])
    pooled = pool_videos(feats, ["v"] * len(feats))
    cols = embedding_columns(feats.shape[1])
    model = sensitive_model(pooled.iloc[0].to_dict(), cols, "5j", [], offset=-0.4)
    saved = save_embedding_model(tmp_path / "emb", EmbeddingModel("5j", "5l", backbone, model.pipeline, cols),
                                 card)
    got = Predictor(saved).predict_file(video)
    assert got.error is None and got.clips == 2
    assert got.prob_fake == pytest.approx(1 / (1 + np.exp(0.4)), abs=1e-6)


def test_load_resolves_a_model_id_in_the_workspace(stage4_model, ws, video):
    path, _ = stage4_model
    save_feature_model(ws.results_dir / "5alpha", Predictor(path).model, stage4_card())
    pred = Predictor.load("5alpha", ws, threshold=0.9)
    assert pred.path == ws.results_dir / "5alpha" / "model.joblib" and pred.threshold == 0.9
    assert pred.predict_file(video).verdict == "real"  # p = 0.574 under the threshold it was given


def test_variable_aspect_clips_hold_the_picture_without_its_letterbox_bars(ws, tmp_path):
    """5e (varaspect): the card's clip is the picture inside the letterboxed frame, top-left, its padding empty;
    a 96x54 source letterboxed to 96 keeps 54/96 of the clip's rows (the bars are cut, not fed as picture)."""
    from conftest import write_video
    from test_predict import _save_deep

    path = _save_deep(ws, "5e", folder=tmp_path / "5e")
    video = write_video(tmp_path / "wide.mp4", frames=10, width=96, height=54, seed=4)
    p = Predictor(path)
    scaled = p.scaled(video, tmp_path)
    inputs = p.clip_inputs(*scaled)
    size = p.data.clip.size
    rows = np.flatnonzero(inputs.clips[0, 0].max(axis=(1, 2)) > 0)  # rows of the first frame with any picture
    assert rows[0] == 0 and len(rows) == round(54 * size / 96)
    assert not inputs.clips[:, :, len(rows):].any()
    assert inputs.batch["valid"].tolist() == [[len(rows), size]]  # the extent the model masks its padding with
    dense = p.clip_inputs(*scaled, clips_per_video=3)  # explanations ask for a denser cover, the rest as the card
    assert dense.clips.shape[0] == 3 and dense.batch["valid"].tolist() == [[len(rows), size]] * 3
    assert dense.clips.shape[1:] == inputs.clips.shape[1:]


def test_an_untrained_model_id_names_its_results_folder_and_the_command(ws):
    import re

    want = f"{ws.results_dir / '5d'}: model '5d' has not been trained; run 'fvc train --model 5d'"
    with pytest.raises(InputError, match=f"^{re.escape(want)}$"):
        resolve_model_path("r3d_18", ws)  # an alias: the folder and the command name the catalog id
