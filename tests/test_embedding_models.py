"""XGBoost on deep embeddings (5f-5j): the catalog entries, per-fold backbones that never saw their test fold
(spy), frozen pretrained backbones embedded once by the resumable ``fvc embed`` stage, and ``fvc predict`` from
the saved model alone. 5i/5j (tiny ViT backbones at the smoke preset) carry the fast tests; 5f-5h run slow."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from _deep_fixtures import make_scaled_workspace, one_torch_thread, write_letterboxed  # noqa: F401 (autouse)

from fvc.config import FvcConfig
from fvc.embed import embed_videos, file_sha256, table_name
from fvc.errors import InputError
from fvc.experiment import RunConfig, default_run_config, run_experiment
from fvc.experiment import deep_adapter, embedding_adapter
from fvc.experiment.result_files import read_metrics, read_oof
from fvc.models import get_model, list_models
from fvc.models.deep import weights as weights_mod
from fvc.models.deep.vit_temporal import frame_vit
from fvc.models.saved import EmbeddingModel, load_model
from fvc.predict import Predictor
from fvc.training.embeddings import clip_embeddings, pool_videos
from fvc.training.events import RecordingObserver

BACKBONES = {"5f": "5d", "5g": "5o", "5h": "5p", "5i": "5k", "5j": "5l"}


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return make_scaled_workspace(tmp_path_factory.mktemp("embcv"), per_class=5, folds=5, corrupt=True)


# -- catalog ---------------------------------------------------------------------
def test_catalog_entries_and_routing():
    assert {e.id: e.data.backbone for e in list_models("embedding")} == BACKBONES
    # the 23 model ids of the plan (5beta-xgb/-lgbm/-cat are one id with three variants), besides the ensemble
    ids = {e.id.split("-")[0] for e in list_models() if e.family != "ensemble"}
    assert len(ids) == 23 and ids >= set(BACKBONES)
    xgb = get_model("5beta-xgb").preset("full")["grid"]
    for mid, bb in BACKBONES.items():
        e = get_model(mid)
        assert e.family == "embedding" and set(e.presets) == {"smoke", "full"} and e.preset("full")["grid"] == xgb
        assert e.inputs == f"{bb} embeddings (mean + std over clips)"
        for preset in ("smoke", "full"):  # the backbone's clip and statistics, at the preset of the same name
            backbone = get_model(bb)
            want = backbone.data_config(backbone.preset(preset))
            got = e.data_config(e.preset(preset))
            assert (got.clip, got.mean, got.std, got.backbone, got.kind) == (want.clip, want.mean, want.std, bb,
                                                                             "embeddings")
    p = get_model("5f").preset("smoke", {"max_depth": 2, "weights": "DEFAULT", "epochs": 3})
    assert p["model"] == {"max_depth": 2}  # XGBoost's own argument stays with XGBoost
    assert p["backbone"]["model"]["weights"] == "DEFAULT" and p["backbone"]["train"]["epochs"] == 3
    with pytest.raises(InputError, match="no preset"):
        get_model("5f").preset("huge")


def test_pool_videos_is_mean_and_std_over_clips():
    feats = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 5.0]])
    out = pool_videos(feats, ["b", "b", "a"])
    assert list(out.index) == ["b", "a"] and list(out.columns) == ["emb_mean_0", "emb_mean_1", "emb_std_0",
                                                                   "emb_std_1"]
    np.testing.assert_allclose(out.loc["b"].to_numpy(), [2.0, 4.0, 1.0, 2.0])
    np.testing.assert_allclose(out.loc["a"].to_numpy(), [5.0, 5.0, 0.0, 0.0])


# -- no weights: per-fold backbones ---------------------------------------------------
def test_per_fold_backbone_never_saw_its_test_fold(ws, monkeypatch):
    """A spy backbone records the videos it was trained on; every embedding of a fold's videos comes from the
    fold's backbone, which never saw that fold's test videos, and XGBoost never fits a test video either."""
    trained_on, embedded, searched = {}, [], []
    orig_fit, orig_embed, orig_search = (deep_adapter.DeepAdapter.fit_fold, embedding_adapter.EmbeddingAdapter.embed,
                                         embedding_adapter.grouped_search)

    def fit_spy(self, fold, train, fold_dir, observer):
        model, record = orig_fit(self, fold, train, fold_dir, observer)
        model._spy_trained_on = set(self.cache.index.set_index("row").loc[self.rows[train], "video_id"])
        trained_on[fold] = model._spy_trained_on
        return model, record

    def embed_spy(self, model):
        X = orig_embed(self, model)
        embedded.append((getattr(model, "_spy_trained_on", None), set(X.index)))
        return X

    def search_spy(est, grid, X, *a, **kw):
        searched.append(set(X.index))
        return orig_search(est, grid, X, *a, **kw)

    monkeypatch.setattr(deep_adapter.DeepAdapter, "fit_fold", fit_spy)
    monkeypatch.setattr(embedding_adapter.EmbeddingAdapter, "embed", embed_spy)
    monkeypatch.setattr(embedding_adapter, "grouped_search", search_spy)
    res = run_experiment(ws, FvcConfig(), default_run_config("5i", preset="smoke", seed=3), [])
    test_videos = {k: set(res.oof.loc[res.oof["fold"] == k, "video_id"]) for k in range(5)}
    everything = set(res.oof["video_id"])
    assert sorted(trained_on) == list(range(5)) and len(embedded) == 6 and len(searched) == 6
    for k in range(5):
        trained, videos = embedded[k]
        assert trained is trained_on[k] and trained == everything - test_videos[k]
        assert test_videos[k] <= videos and not trained & test_videos[k], f"fold {k} embedded by a backbone that saw it"
        assert searched[k] == everything - test_videos[k]
    assert embedded[5][0] is None and searched[5] == everything  # the final refit: every video, a fresh backbone
    m = read_metrics(ws, "5i")
    assert m["family"] == "embedding" and m["extra"]["backbone_mode"] == "per-fold" and m["n_failed_videos"] == 1
    assert len(read_oof(ws, "5i")) == 10


def test_per_fold_backbones_are_the_deep_models_own_folds(ws):
    """The backbone folds live in the deep model's run folder: training 5k with the same settings afterwards
    finds every fold and the final model finished (no epoch runs again)."""
    run_experiment(ws, FvcConfig(), default_run_config("5j", preset="smoke", seed=4), [])
    m = read_metrics(ws, "5j")
    assert "/cv/5l/" in m["extra"]["backbone_run"]
    obs = RecordingObserver()
    run_experiment(ws, FvcConfig(), default_run_config("5l", preset="smoke", seed=4), [obs])
    assert obs.names().count("fold_end") == 5 and obs.names().count("epoch_end") == 0


# -- pretrained weights: a frozen backbone, embedded once ------------------------------
def _tiny_vit_weights(tmp_path, monkeypatch):
    """A ViT checkpoint of the smoke ViT's shape in torch hub's cache, for the 'DEFAULT' weights of 5k."""
    from safetensors.torch import save_file

    from fvc.models.transformer_zoo import VIT_B16_IN21K_IN1K

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("FVC_OFFLINE", "1")
    torch.manual_seed(5)
    ref = frame_vit("vit_base_patch16_224", 32, num_classes=1000, patch_size=8, embed_dim=64, depth=2, num_heads=2)
    dest = weights_mod.hub_checkpoint_dir() / VIT_B16_IN21K_IN1K.file_name
    dest.parent.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, str(dest))
    return dest


def test_frozen_backbone_is_embedded_once_and_never_trained(ws, tmp_path, monkeypatch):
    dest = _tiny_vit_weights(tmp_path, monkeypatch)
    fits, embeds = [], []
    orig_fit, orig_embed = deep_adapter.Trainer.fit, embedding_adapter.embed_videos
    monkeypatch.setattr(deep_adapter.Trainer, "fit", lambda *a, **kw: fits.append(1) or orig_fit(*a, **kw))
    monkeypatch.setattr(embedding_adapter, "embed_videos", lambda *a, **kw: embeds.append(1) or orig_embed(*a, **kw))
    rc = RunConfig(model="5i", preset="smoke", params={"weights": "DEFAULT"}, grid={"clf__max_depth": [2, 3]}, seed=1)
    res = run_experiment(ws, FvcConfig(), rc, [])
    assert fits == [] and embeds == [1]  # one embedding pass for all folds, no backbone training
    table = ws.read(table_name("5k"))
    assert len(table) == 11 and table["error"].notna().sum() == 1  # 10 videos + the corrupt one, keyed by video
    ok = table[table["error"].isna()]
    assert (ok["weights_sha256"] == file_sha256(dest)).all() and (ok["backbone"] == "5k").all()
    assert ok["clip"].str.contains('"frames": 8').all() and (ok["n_clips"] == 1).all()
    assert res.summary["extra"]["backbone_mode"] == "frozen"
    # the same embeddings the saved model computes from a video, and resume skips every finished video
    model, card = load_model(ws.results_dir / "5i" / "model.pt")
    assert isinstance(model, EmbeddingModel) and card.family == "embedding" and card.data["backbone"] == "5k"
    _, summary, _ = embed_videos(ws, "5k", "smoke", {"weights": "DEFAULT"})
    assert (summary.done, summary.skipped, summary.failed, summary.retried) == (0, 10, 1, 1)  # only the bad one


def test_cli_embed_with_a_checkpoint_resumes_and_names_missing_weights(ws, tmp_path, fvc):
    code, _, err = fvc("embed", "-w", str(ws.root), "--backbone", "5k", "--preset", "smoke")
    assert code == 2 and "has no pretrained weights" in err and "--checkpoint" in err
    code, _, err = fvc("train", "-w", str(ws.root), "--model", "5k", "--preset", "smoke", "--fold", "0",
                       "--no-tracking")
    assert code == 0, err
    ckpt = ws.results_dir / "5k" / "model.pt"
    code, out, err = fvc("embed", "-w", str(ws.root), "--backbone", "5k", "--checkpoint", str(ckpt), "--force")
    assert code == 0, err
    table = ws.read(table_name("5k"))
    assert (table.loc[table["error"].isna(), "weights_sha256"] == file_sha256(ckpt)).all()
    parts = sorted((ws.tables_dir / f"{table_name('5k')}.parts").iterdir())
    written = {p.name: p.stat().st_mtime_ns for p in parts}
    assert len(written) == 11  # one part file per video: a killed run keeps what it finished
    code, _, _ = fvc("embed", "-w", str(ws.root), "--backbone", "5k", "--checkpoint", str(ckpt), "--no-retry-failed")
    assert code == 0 and {p.name: p.stat().st_mtime_ns for p in parts} == written  # resumed: nothing redone
    code, _, err = fvc("embed", "-w", str(ws.root), "--backbone", "5i")
    assert code == 2 and "not a deep model" in err


# -- predict from the saved model alone ---------------------------------------------------
def test_predict_runs_backbone_then_xgboost_from_the_saved_model(ws, tmp_path, fvc):
    code, _, err = fvc("train", "-w", str(ws.root), "--model", "5i", "--preset", "smoke", "--no-tracking")
    assert code == 0, err
    saved = tmp_path / "alone"
    saved.mkdir()
    for name in ("model.pt", "model.json"):  # nothing but the model and its card
        (saved / name).write_bytes((ws.results_dir / "5i" / name).read_bytes())
    video = write_letterboxed(tmp_path / "new.mp4", fake=True, seed=9, frames=12, orig=(96, 54), size=96)
    (pred,) = Predictor(saved / "model.pt").predict_files([video])
    assert pred.error is None and pred.clips == 1
    # by hand: letterbox as the card says, the card's clip, the backbone's pooled features, mean/std, the trees
    p = Predictor(saved / "model.pt")
    with tempfile.TemporaryDirectory() as tmp:
        batch = p.clip_inputs(*p.scaled(video, Path(tmp))).batch
    feats, _ = clip_embeddings(p.model.backbone, [batch])
    expected = p.model.pipeline.predict_proba(pool_videos(feats, ["x"])[p.model.columns])[0, 1]
    assert pred.prob_fake == pytest.approx(float(expected))
    assert 0.0 < pred.prob_fake < 1.0
    code, out, _ = fvc("predict", str(video), "-w", str(ws.root), "--model", "5i", "--json")
    assert code == 0 and "prob_fake" in out


@pytest.mark.slow
@pytest.mark.parametrize("model_id", ["5f", "5g", "5h"])
def test_cli_train_smoke_slow(ws, fvc, model_id):
    code, _, err = fvc("train", "-w", str(ws.root), "--model", model_id, "--preset", "smoke", "--no-tracking")
    assert code == 0, err
    m = read_metrics(ws, model_id)
    assert m["family"] == "embedding" and len(m["folds"]) == 5 and m["extra"]["backbone"] == BACKBONES[model_id]
    assert isinstance(load_model(ws.results_dir / model_id / "model.pt")[0], EmbeddingModel)


def test_tracked_like_any_model_and_served_from_the_registry(tmp_path, monkeypatch, fvc):
    """With tracking on, 5i is registered as ``fvc-5i``: a pyfunc that takes video paths, family tag
    'embedding', and the same probability as ``fvc predict``."""
    import mlflow

    from fvc.tracking.mlflow_store import open_store

    ws = make_scaled_workspace(tmp_path / "w", per_class=3, folds=3)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("CI", "true")
    code, _, err = fvc("train", "-w", str(ws.root), "--model", "5i", "--preset", "smoke", "--fold", "0")
    assert code == 0, err
    store = open_store(ws)
    mv = store.client.get_model_version("fvc-5i", "1")
    assert mv.tags["family"] == "embedding" and mv.tags["preset"] == "smoke"
    reqs = (Path(mlflow.artifacts.download_artifacts("models:/fvc-5i/1")) / "requirements.txt").read_text()
    assert "xgboost==" in reqs and "torch==" in reqs
    video = write_letterboxed(tmp_path / "v.mp4", fake=False, seed=4, frames=12, orig=(96, 54), size=96)
    prob = mlflow.pyfunc.load_model("models:/fvc-5i/1").predict(pd.DataFrame({"path": [str(video)]}))
    direct = Predictor(ws.results_dir / "5i" / "model.pt").predict_file(video)
    assert prob[0] == pytest.approx(direct.prob_fake, abs=1e-6)
