"""Frame and video transformers 5k-5n: published sizes, clip-sized networks, normalisation that follows the
weights, weights from local files (hub cache) and the offline error, and gradient checkpointing.

Forward/backward and overfit-8-clips run for them in test_deep_models.py (parametrised over the catalog)."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn
from _deep_fixtures import one_torch_thread  # noqa: F401 (autouse: one torch thread per test)

from fvc.errors import InputError, MissingDependencyError
from fvc.models import create_model, get_model
from fvc.models.catalog import IMAGENET
from fvc.models.deep import weights as weights_mod
from fvc.models.deep.base import count_params
from fvc.models.deep.video_transformers import published as published_video
from fvc.models.deep.vit_temporal import frame_vit, published_vit
from fvc.models.transformer_zoo import TIMESFORMER_K400, VIT_B16_IN21K_IN1K, VIVIT_K400
from fvc.training.train_config import TrainConfig
from fvc.training.trainer import Trainer, seed_everything

TRANSFORMERS = ["5k", "5l", "5m", "5n"]


def within_1pct(n: int, published_m: float) -> bool:
    return abs(n / 1e6 - published_m) / published_m < 0.01


def smoke_clip(model_id: str, b: int = 2, seed: int = 0) -> torch.Tensor:
    clip = get_model(model_id).preset("smoke")["clip"]
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, 3, clip["frames"], clip["size"], clip["size"], generator=g)


# -- fidelity: published parameter counts ----------------------------------------
def test_vit_b16_param_count():
    # Dosovitskiy et al. 2021 (ICLR), Table 1: ViT-Base, 86M parameters;
    # torchvision ViT_B_16_Weights.IMAGENET1K_V1.meta["num_params"] = 86,567,656 (the same network).
    n = count_params(published_vit("vit_base_patch16_224"))
    assert within_1pct(n, 86.0)
    assert n == torchvision.models.ViT_B_16_Weights.IMAGENET1K_V1.meta["num_params"]
    assert n == VIT_B16_IN21K_IN1K.meta["num_params"]


def test_vit_small_is_the_named_variant():
    # Touvron et al. 2021 (DeiT), Table 1: DeiT-S / ViT-S/16, 22M parameters (timm: 22,050,664).
    assert within_1pct(count_params(published_vit("vit_small_patch16_224")), 22.05)
    model = create_model("5k", preset="smoke", arch="vit_small_patch16_224")
    assert model.vit.patch_embed.proj.kernel_size == (8, 8)  # the smoke overrides still apply
    with pytest.raises(InputError, match="for another ViT than 'vit_small_patch16_224'"):
        create_model("5k", arch="vit_small_patch16_224", weights="DEFAULT")


def test_timesformer_param_count():
    # Bertasius et al. 2021, "Is Space-Time Attention All You Need for Video Understanding?", Table 1:
    # divided space-time attention (TimeSformer-Base, 8x224, patch 16), 121.4M parameters (K400 classifier).
    n = count_params(published_video("timesformer"))
    assert within_1pct(n, 121.4)
    assert within_1pct(n, TIMESFORMER_K400.meta["num_params"] / 1e6)


def test_vivit_param_count():
    # Arnab et al. 2021, "ViViT: A Video Vision Transformer", comparison of model variants with ViViT-B,
    # tubelet 16x2: model 1 (spatio-temporal attention, the transformers implementation), 88.9M parameters.
    n = count_params(published_video("vivit"))
    assert within_1pct(n, 88.9)
    assert within_1pct(n, VIVIT_K400.meta["num_params"] / 1e6)


def test_full_presets_are_the_published_configurations():
    with torch.device("meta"):
        vit_gru = create_model("5k", weights=None)
        vit_tr = create_model("5l", weights=None)
        tsf = create_model("5m")
        viv = create_model("5n")
    head_1000 = 768 * 1000 + 1000
    for m in (vit_gru, vit_tr):  # the ViT-B/16 trunk of the published classifier, without its classifier
        assert count_params(m.vit) == VIT_B16_IN21K_IN1K.meta["num_params"] - head_1000
        assert m.vit.patch_embed.proj.kernel_size == (16, 16) and m.frames == 16
    c = tsf.backbone.config
    assert (c.num_frames, c.image_size, c.patch_size, c.hidden_size, c.num_hidden_layers) == (8, 224, 16, 768, 12)
    assert c.attention_type == "divided_space_time"
    c = viv.backbone.config
    assert (c.num_frames, c.image_size, list(c.tubelet_size), c.num_hidden_layers) == (32, 224, [2, 16, 16], 12)


def test_the_network_is_sized_by_its_clip():
    """frames/size come from the preset's clip, also when the clip is overridden; the card rebuilds it."""
    for mid in TRANSFORMERS:
        p = get_model(mid).preset("smoke", {"frames": 4, "size": 16})
        assert p["model"]["frames"] == 4 and p["model"]["size"] == 16 and p["clip"]["frames"] == 4
    model = create_model("5n", preset="smoke", frames=4, size=16)
    out = model(clip=torch.randn(1, 3, 4, 16, 16))
    assert out.shape == (1,)
    with pytest.raises(InputError, match="not divisible"):
        create_model("5m", preset="smoke", size=36)
    with pytest.raises(ValueError, match="4 frames"):
        create_model("5l", preset="smoke")(clip=torch.randn(1, 3, 4, 32, 32))


# -- normalisation follows the weights ----------------------------------------------
def test_normalisation_follows_the_weights():
    import timm

    cfg = timm.models.get_pretrained_cfg(VIT_B16_IN21K_IN1K.name).to_dict()
    for mid in ("5k", "5l"):
        e = get_model(mid)
        dc = e.data_config(e.preset("full"))  # full = ImageNet-21k/1k weights: the statistics they were trained with
        assert (dc.mean, dc.std) == (tuple(cfg["mean"]), tuple(cfg["std"]))
        assert e.data_config(e.preset("full", {"weights": None})).mean == IMAGENET[0]
        assert dc.clip.size == 224 and dc.clip.frames == 16
    for mid, w in (("5m", TIMESFORMER_K400), ("5n", VIVIT_K400)):
        e = get_model(mid)
        dc = e.data_config(e.preset("full"))  # from scratch by default: ImageNet statistics, never Kinetics'
        assert (dc.mean, dc.std) == IMAGENET
        used = e.data_config(e.preset("full", {"weights": "DEFAULT"}))
        assert (used.mean, used.std) == (w.mean, w.std)
    # ViViT's processor: x / 127.5 - 1, then (x - 0.5) / 0.5 -- the same map as (u - 0.75) / 0.25 on u = x / 255
    x = torch.arange(0, 256, 17.0)
    torch.testing.assert_close(((x / 127.5 - 1) - 0.5) / 0.5, (x / 255 - VIVIT_K400.mean[0]) / VIVIT_K400.std[0])


# -- weights: hub cache file, offline error ---------------------------------------------
def test_vit_weights_load_from_hub_cache_file(tmp_path, monkeypatch):
    """An ImageNet ViT checkpoint (classifier included, at 224 px) in torch hub's cache loads into the
    per-frame ViT of the smoke clip size: position embeddings resampled, classifier dropped."""
    from safetensors.torch import save_file

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("FVC_OFFLINE", "1")
    tiny = {"patch_size": 8, "embed_dim": 64, "depth": 2, "num_heads": 2}
    torch.manual_seed(1)
    ref = frame_vit("vit_base_patch16_224", 64, num_classes=1000, **tiny)
    dest = weights_mod.hub_checkpoint_dir() / VIT_B16_IN21K_IN1K.file_name
    dest.parent.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, str(dest))
    model = create_model("5k", preset="smoke", weights="DEFAULT")
    assert model.pretrained
    torch.testing.assert_close(model.vit.blocks[1].attn.qkv.weight, ref.blocks[1].attn.qkv.weight)
    assert model.vit.pos_embed.shape[1] == 1 + (32 // 8) ** 2  # 224-px grid resampled to the 32-px clip
    backbone, head = model.param_groups()
    assert {id(p) for p in head} == {id(p) for n, p in model.named_parameters() if n.startswith(("temporal", "head"))}
    assert not create_model("5k", preset="smoke").pretrained


def test_offline_vit_weights_error_names_file_and_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("FVC_OFFLINE", "1")
    with pytest.raises(MissingDependencyError) as err:
        create_model("5l")  # the full preset asks for the ImageNet-21k/1k ViT-B/16 weights
    msg = str(err.value)
    expected = tmp_path / "hub" / "checkpoints" / "vit_base_patch16_224.augreg2_in21k_ft_in1k.safetensors"
    assert str(expected) in msg and str(expected.parent) in msg and "--no-pretrained" in msg
    assert VIT_B16_IN21K_IN1K.url in msg


@pytest.mark.parametrize("model_id, arch", [("5m", "timesformer"), ("5n", "vivit")])
def test_kinetics_checkpoint_loads_from_a_local_file(tmp_path, model_id, arch):
    """A ``*ForVideoClassification`` state dict (the hub checkpoints' layout) loads into the backbone."""
    from transformers import TimesformerForVideoClassification, VivitForVideoClassification

    from fvc.models.deep.video_transformers import hf_config

    p = get_model(model_id).preset("smoke")["model"]
    cfg = hf_config(arch, frames=p["frames"], size=p["size"], patch_size=p["patch_size"],
                    hidden_size=p["hidden_size"], depth=p["depth"], heads=p["heads"])
    cfg.num_labels = 400
    torch.manual_seed(2)
    ref = (TimesformerForVideoClassification if arch == "timesformer" else VivitForVideoClassification)(cfg)
    path = tmp_path / "k400.bin"
    torch.save(ref.state_dict(), path)
    model = create_model(model_id, preset="smoke", weights=str(path))
    assert model.pretrained
    torch.testing.assert_close(model.backbone.embeddings.patch_embeddings.projection.weight,
                               getattr(ref, arch).embeddings.patch_embeddings.projection.weight)
    with pytest.raises(InputError, match="do not fit"):
        create_model(model_id, preset="smoke", weights=str(path), hidden_size=32)


# -- gradient checkpointing -----------------------------------------------------------
def _loss_and_grads(model_id: str, checkpointing: bool) -> tuple[torch.Tensor, dict[str, torch.Tensor], int]:
    seed_everything(0)
    model = create_model(model_id, preset="smoke").train()
    if checkpointing:
        model.set_grad_checkpointing(True)
    # the first norm of the first block, run once per forward: a recompute runs it again (and may stop early)
    probe = {"5m": lambda: model.backbone.encoder.layer[0].temporal_layernorm,
             "5n": lambda: model.backbone.layers[0].layernorm_before}.get(model_id, lambda: model.vit.blocks[0].norm1)()
    calls = []
    probe.register_forward_pre_hook(lambda *a: calls.append(1))
    seed_everything(1)
    y = torch.tensor([0.0, 1.0])
    loss = nn.functional.binary_cross_entropy_with_logits(model(clip=smoke_clip(model_id)), y)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}, len(calls)


@pytest.mark.parametrize("model_id", TRANSFORMERS)
def test_grad_checkpointing_gives_the_same_loss_and_gradients(model_id):
    loss, grads, calls = _loss_and_grads(model_id, False)
    loss_ck, grads_ck, calls_ck = _loss_and_grads(model_id, True)
    assert calls == 1 and calls_ck == 2  # with checkpointing the first block really runs again in backward
    torch.testing.assert_close(loss_ck, loss)
    assert grads.keys() == grads_ck.keys() and len(grads) > 10
    for name in grads:
        torch.testing.assert_close(grads_ck[name], grads[name], atol=1e-6, rtol=1e-5, msg=name)


class _Clips(torch.utils.data.Dataset):
    def __init__(self, model_id: str, n: int = 4):
        self.x = smoke_clip(model_id, b=n)
        self.labels = (torch.arange(n) % 2).float().numpy()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"clip": self.x[i], "label": torch.tensor(self.labels[i]), "row": torch.tensor(i)}


def test_trainer_option_turns_checkpointing_on(monkeypatch):
    """``train.grad_checkpointing: true`` reaches the model; a model without it is a one-line error."""
    calls = []
    model = create_model("5m", preset="smoke")
    monkeypatch.setattr(model, "set_grad_checkpointing", lambda enable=True: calls.append(enable))
    cfg = TrainConfig.from_dict({"epochs": 1, "batch_size": 2, "grad_checkpointing": True, "warmup_fraction": 0.0})
    Trainer(cfg).fit(model, _Clips("5m"))
    assert calls == [True]
    assert get_model("5n").preset("full", {"grad_checkpointing": True})["train"]["grad_checkpointing"] is True
    with pytest.raises(InputError, match="train.grad_checkpointing.*no gradient checkpointing"):
        Trainer(cfg).fit(create_model("5c", preset="smoke"), _Clips("5c"))
