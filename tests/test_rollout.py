"""Attention rollout for the video transformers: the arithmetic on known attention, per-frame maps that follow
their own frame, and the explain document's overlays."""

from __future__ import annotations

import pytest
import torch
from _deep_fixtures import one_torch_thread  # noqa: F401  (autouse: one torch thread)
from test_explain import training_rows
from test_predict import _save_deep

from fvc.explain import explain_video
from fvc.explain.rollout import attention_map, relevance, rollout, supports
from fvc.models import get_model
from fvc.models.training_summary import summarize
from fvc.predict import Predictor


def test_rollout_of_known_attention():
    # one layer, one head: CLS attends only to patch 2 (token 3); identity added, rows renormalised -> 0.5 there
    attn = torch.eye(5)[None, None].clone()
    attn[0, 0, 0] = torch.tensor([0.0, 0.0, 0.0, 1.0, 0.0])
    rel = rollout([attn])
    assert rel.shape == (1, 4) and rel[0].tolist() == pytest.approx([0.0, 0.0, 0.5, 0.0])
    # a second layer where every token keeps to itself changes nothing; one mixing CLS with patch 0 moves half
    assert rollout([attn, torch.eye(5)[None, None]])[0].tolist() == pytest.approx([0.0, 0.0, 0.5, 0.0])
    mix = torch.eye(5)[None, None].clone()
    mix[0, 0, 0] = torch.tensor([0.0, 1.0, 0.0, 0.0, 0.0])
    assert rollout([attn, mix])[0].tolist() == pytest.approx([0.5, 0.0, 0.25, 0.0])  # 0.5*CLS row + 0.5*patch 0


def _smoke(model_id: str):
    entry = get_model(model_id)
    torch.manual_seed(0)
    return entry.build(entry.preset("smoke")["model"])


@pytest.mark.parametrize("model_id", ["5k", "5l", "5m", "5n"])
def test_maps_have_the_clip_shape_and_are_not_flat(model_id):
    model = _smoke(model_id)
    assert supports(model) and not supports(_smoke("5c"))
    torch.manual_seed(1)
    clip = torch.rand(2, 3, 8, 32, 32)
    cam = attention_map(model, {"clip": clip}, clip=1)
    assert cam.shape == (8, 32, 32) and cam.max() == pytest.approx(1.0) and cam.std() > 1e-3
    assert model.vit.blocks[0].attn.fused_attn if model_id in ("5k", "5l") else True  # fused kernel restored


@pytest.mark.parametrize("model_id", ["5k", "5l"])
def test_a_frame_vit_map_follows_its_own_frame(model_id):
    model = _smoke(model_id)
    torch.manual_seed(2)
    clip = torch.rand(1, 3, 8, 32, 32)
    edited = clip.clone()
    edited[:, :, 3] = torch.rand(1, 3, 32, 32)  # only frame 3 changes
    a, b = relevance(model, clip), relevance(model, edited)  # before the clip-wide [0, 1] scaling
    assert a.shape == (8, 4, 4)  # 32 px in patches of 8, per frame
    moved = [bool((a[t] - b[t]).abs().max() > 1e-6) for t in range(8)]
    assert moved == [t == 3 for t in range(8)]


@pytest.mark.parametrize("model_id", ["5m", "5n"])
def test_explain_a_video_transformer_writes_rollout_overlays(tmp_path, model_id):
    from _deep_fixtures import write_letterboxed

    video = write_letterboxed(tmp_path / "clip.mp4", fake=True, seed=1, frames=24, orig=(48, 32), size=32)
    X = training_rows(video)
    pred = Predictor(_save_deep(None, model_id, folder=tmp_path / "m", scale_size=32,
                                training_summary=summarize(X, list(X.columns))))
    doc = explain_video(pred, video, tmp_path / "doc")
    ev = doc["evidence"]
    assert ev["method"].startswith("attention rollout") and ev["reason"] is None and ev["reading"]
    assert ev["cam_shape"] == [pred.data.clip.frames, pred.data.clip.size, pred.data.clip.size]
    assert ev["images"] and all((tmp_path / "doc" / i["image"]).exists() for i in ev["images"])
    assert doc["verdict"]["prob_fake"] == pytest.approx(pred.predict_file(video).prob_fake, rel=1e-5)
