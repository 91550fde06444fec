"""Deep models of the catalog: presets, published sizes, forward/backward and overfit for every entry
(parametrised over ``list_models("deep")``, so a new model is tested without new test code),
weight inflation and loading."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn
from _deep_fixtures import one_torch_thread  # noqa: F401 (autouse: one torch thread per test)

from fvc.errors import InputError, MissingDependencyError
from fvc.models.deep import weights as weights_mod
from fvc.models.deep.base import count_params
from fvc.models import create_model, get_model, list_models
from fvc.models.deep.i3d import I3D, ResNet3d, inflate_state_dict
from fvc.models.deep.r3d import published
from fvc.models.deep.slowfast import SlowFast
from fvc.models.deep.x3d import X3D
from fvc.models.video_zoo import R2PLUS1D_18_K400, R3D_18_K400, RESNET50_IN1K

DEEP = [e.id for e in list_models("deep")]
from fvc.training.trainer import seed_everything



HEAVY = {"5d", "5o", "5p", "5q"}  # 3-33M parameters or slow depthwise 3D convs on CPU: overfit runs marked slow


def tiny_inputs(model_id: str, b: int = 2, t: int = 4, s: int = 16) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    entry = get_model(model_id)
    clip = entry.presets["smoke"]["clip"]
    if entry.clip_args:  # a network sized by its clip (transformers' position embeddings) takes that clip
        t, s = clip["frames"], clip["size"]
    x = {"clip": torch.randn(b, 3, t, s, s, generator=g)}
    if clip.get("flow"):
        x["flow"] = torch.randn(b, 2, t, s, s, generator=g)
    if clip.get("mode") == "varaspect":
        x["valid"] = torch.tensor([[s, s], [s // 2, s]] * (b // 2))
    return x


def within_1pct(n: int, published_m: float) -> bool:
    return abs(n / 1e6 - published_m) / published_m < 0.01


# -- catalog ----------------------------------------------------------------
def test_every_deep_model_in_the_catalog_with_presets_and_data_config():
    assert set(DEEP) == {"5c", "5d", "5e", "5k", "5l", "5m", "5n", "5o", "5p", "5q", "5r", "5s", "5t", "5u"}
    for e in list_models("deep"):
        assert e.family == "deep" and set(e.presets) == {"smoke", "full"} and e.default_preset == "full"
        smoke = e.preset("smoke")
        assert smoke["train"]["epochs"] == 1 and smoke["clip"]["size"] <= 64
        assert smoke["model"].get("weights") is None  # smoke runs train from scratch, offline
        assert e.preset("full")["clip"]["frames"] >= (8 if e.id == "5m" else 13)  # TimeSformer-Base: 8x224
        dc = e.data_config(e.preset("full"))
        assert dc.kind == "clips" and dc.clip.frames == e.preset("full")["clip"]["frames"]
    assert get_model("r3d_18").id == "5d" and get_model("R3D-18").id == "5d"
    with pytest.raises(InputError, match="no preset"):
        get_model("5c").preset("huge")
    with pytest.raises(InputError, match="unknown model 'nope'; known ids: 5a"):
        get_model("nope")


def test_normalisation_follows_the_weights():
    # Kinetics statistics for Kinetics weights, ImageNet statistics for I3D's ImageNet ResNet-50.
    r3d = get_model("5d")
    assert r3d.data_config(r3d.preset("full")).mean == R3D_18_K400.mean == (0.43216, 0.394666, 0.37645)
    i3d = get_model("5o")
    assert i3d.data_config(i3d.preset("full")).mean == (0.485, 0.456, 0.406)
    assert i3d.data_config(i3d.preset("full")).std == RESNET50_IN1K.std


def test_catalog_weights_match_torchvision():
    for ours, theirs in ((R3D_18_K400, torchvision.models.video.R3D_18_Weights.KINETICS400_V1),
                         (R2PLUS1D_18_K400, torchvision.models.video.R2Plus1D_18_Weights.KINETICS400_V1),
                         (RESNET50_IN1K, torchvision.models.ResNet50_Weights.IMAGENET1K_V2)):
        assert ours.url == theirs.url and ours.meta["num_params"] == theirs.meta["num_params"]
        assert list(ours.mean) == list(theirs.transforms().mean) and list(ours.std) == list(theirs.transforms().std)


def test_preset_overrides_route_to_the_right_part():
    p = get_model("5q").preset("smoke", {"frames": 6, "epochs": 3, "variant": "s", "source": "augmented"})
    assert p["clip"]["frames"] == 6 and p["train"]["epochs"] == 3 and p["model"]["variant"] == "s"
    assert p["data"] == {"copies_per_source": 1, "val_share": 0.0, "source": "augmented"}
    assert get_model("5d").preset("full", {"weights": None})["model"]["weights"] is None
    assert "weights" not in get_model("5c").preset("full", {"weights": None})["model"]
    with pytest.raises(InputError, match="no pretrained weights"):
        get_model("5c").preset("full", {"weights": "DEFAULT"})


def test_x3d_variant_selects_the_published_clip():
    # X3D paper, Table 3: XS 4x160, S 13x160, M 16x224.
    for variant, (frames, size) in {"xs": (4, 160), "s": (13, 160), "m": (16, 224)}.items():
        clip = get_model("5q").preset("full", {"variant": variant})["clip"]
        assert (clip["frames"], clip["size"]) == (frames, size)
    assert get_model("5q").preset("full", {"variant": "m", "frames": 8})["clip"]["frames"] == 8
    with pytest.raises(InputError, match="unknown X3D variant"):
        create_model("5q", variant="l")


# -- fidelity: published parameter counts ----------------------------------------
def test_r3d_18_param_count():
    # torchvision R3D_18_Weights.KINETICS400_V1.meta["num_params"] = 33,371,472 (33.37M)
    n = count_params(published("r3d_18"))
    assert within_1pct(n, 33.37)
    assert n == torchvision.models.video.R3D_18_Weights.KINETICS400_V1.meta["num_params"]


def test_r2plus1d_18_param_count():
    # torchvision R2Plus1D_18_Weights.KINETICS400_V1.meta["num_params"] = 31,505,325 (31.51M)
    n = count_params(published("r2plus1d_18"))
    assert within_1pct(n, 31.51)
    assert n == torchvision.models.video.R2Plus1D_18_Weights.KINETICS400_V1.meta["num_params"]


def test_x3d_s_param_count():
    # PyTorchVideo model zoo (MODEL_ZOO.md, Kinetics-400): X3D-S 13x6x160, Params 3.79M (XS and M: 3.79M too)
    for variant in ("xs", "s", "m"):
        assert within_1pct(count_params(X3D(variant, num_classes=400)), 3.79)


def test_slowfast_r50_8x8_param_count():
    # PyTorchVideo model zoo (MODEL_ZOO.md, Kinetics-400): SlowFast R50 8x8, Params 34.57M
    assert within_1pct(count_params(SlowFast(num_classes=400)), 34.57)


@pytest.mark.parametrize("model_id", DEEP)
def test_catalog_parameter_count_is_the_built_networks(model_id):
    """``fvc models`` lists ``num_params`` without building anything: it must be the full preset's network."""
    e = get_model(model_id)
    with torch.device("meta"):
        model = e.build(e.preset("full", {"weights": None})["model"])
    assert e.num_params == count_params(model) and e.as_row()["params"] == f"{e.num_params / 1e6:.2f}M"


# -- every model: forward / backward, overfit --------------------------------------
@pytest.mark.parametrize("model_id", DEEP)
def test_forward_backward_tiny_batch(model_id):
    seed_everything(0)
    model = create_model(model_id, preset="smoke")
    out = model(**tiny_inputs(model_id))
    assert out.shape == (2,) and torch.isfinite(out).all()
    out.sum().backward()
    backbone, head = model.param_groups()
    assert head and all(p.grad is not None for p in head)
    assert sum(p.grad is not None and p.grad.abs().sum() > 0 for p in backbone) > 0


def _overfit(model_id: str, max_steps: int = 40) -> tuple[int, float]:
    seed_everything(0)
    model = create_model(model_id, preset="smoke", dropout=0.0).train()
    x = tiny_inputs(model_id, b=8)
    y = torch.tensor([0, 1, 1, 0, 1, 0, 0, 1], dtype=torch.float32)  # arbitrary labels on noise: memorise
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    for step in range(max_steps):
        out = model(**x)
        loss = nn.functional.binary_cross_entropy_with_logits(out, y)
        acc = ((out > 0) == (y == 1)).float().mean().item()
        if acc == 1.0 and loss.item() < 0.2:
            return step, acc
        opt.zero_grad()
        loss.backward()
        opt.step()
    return max_steps, acc


@pytest.mark.parametrize("model_id", [m for m in DEEP if m not in HEAVY])
def test_overfits_eight_clips(model_id):
    steps, acc = _overfit(model_id)
    assert acc == 1.0 and steps < 40


@pytest.mark.slow
@pytest.mark.parametrize("model_id", sorted(HEAVY))
def test_overfits_eight_clips_heavy(model_id):
    steps, acc = _overfit(model_id)
    assert acc == 1.0 and steps < 40


def test_varaspect_ignores_padding():
    seed_everything(0)
    model = create_model("5e", preset="smoke").eval()
    clip = torch.randn(1, 3, 4, 16, 24)
    valid = torch.tensor([[16, 24]])
    padded = torch.zeros(1, 3, 4, 32, 32)
    padded[..., :16, :24] = clip
    with torch.no_grad():
        a = model(clip, valid)
        b = model(padded, valid)
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


# -- I3D inflation ----------------------------------------------------------------
def test_i3d_inflation_reproduces_2d_on_static_clip():
    torch.manual_seed(0)
    net2d = torchvision.models.resnet18().eval()
    net3d = ResNet3d("resnet18", temporal_pool=False).eval()
    state, missing = inflate_state_dict(net2d.state_dict(), net3d)
    assert missing == [] and state["conv1.weight"].shape == (64, 3, 5, 7, 7)
    torch.testing.assert_close(state["conv1.weight"].sum(2), net2d.state_dict()["conv1.weight"])
    net3d.load_state_dict(state, strict=False)
    img = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        f2 = nn.Sequential(*list(net2d.children())[:-2])(img)
        f3 = net3d(img.unsqueeze(2).repeat(1, 1, 16, 1, 1))
    # middle frame: far enough from the temporal zero padding
    torch.testing.assert_close(f3[:, :, 8], f2, atol=1e-4, rtol=1e-4)


def test_i3d_loads_local_2d_weights_file(tmp_path):
    torch.manual_seed(0)
    ref = torchvision.models.resnet18()
    path = tmp_path / "resnet18.pth"
    torch.save({"state_dict": ref.state_dict()}, path)
    model = I3D("resnet18", weights=str(path), temporal_pool=False)
    assert model.pretrained
    torch.testing.assert_close(model.backbone.bn1.weight, ref.bn1.weight)
    with pytest.raises(InputError, match="shape mismatch"):
        bad = {k: v for k, v in ref.state_dict().items()}
        bad["conv1.weight"] = torch.zeros(64, 3, 3, 3)
        inflate_state_dict(bad, ResNet3d("resnet18"))


# -- pretrained weights: hub cache, offline error, --no-pretrained ------------------
def test_offline_weights_error_names_file_and_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv("FVC_OFFLINE", raising=False)

    def no_network(url, dest, progress=False):
        raise OSError("network unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    with pytest.raises(MissingDependencyError) as err:
        create_model("5d")  # the full preset asks for the Kinetics weights
    msg = str(err.value)
    expected = tmp_path / "hub" / "checkpoints" / "r3d_18-b3b3357e.pth"
    assert str(expected) in msg and "--no-pretrained" in msg and "download failed" in msg
    assert "R3D_18_Weights.KINETICS400_V1" in msg


def test_weights_load_from_hub_cache_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("FVC_OFFLINE", "1")
    torch.manual_seed(1)
    ref = torchvision.models.video.r2plus1d_18()
    dest = weights_mod.hub_checkpoint_path(torchvision.models.video.R2Plus1D_18_Weights.KINETICS400_V1.url)
    dest.parent.mkdir(parents=True)
    torch.save(ref.state_dict(), dest)
    model = create_model("5p", weights="DEFAULT")
    assert model.pretrained
    torch.testing.assert_close(model.backbone.stem[0].weight, ref.stem[0].weight)
    scratch = create_model("5p", weights=None)
    assert not scratch.pretrained


def test_safetensors_and_bad_weight_files(tmp_path):
    from safetensors.torch import save_file

    sd = {"w": torch.ones(2, 2)}
    save_file(sd, tmp_path / "w.safetensors")
    torch.testing.assert_close(weights_mod.load_local_weights(tmp_path / "w.safetensors")["w"], sd["w"])
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="junk.pth"):
        weights_mod.load_local_weights(tmp_path / "junk.pth")
    with pytest.raises(InputError, match="not found"):
        weights_mod.load_local_weights(tmp_path / "missing.pth")
