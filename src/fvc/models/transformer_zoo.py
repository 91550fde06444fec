"""Frame and video transformers 5k-5n: keyword-only builders, weights, data configs, presets.

5k/5l run a timm ViT on every frame (ViT-B/16 at 224 in ``full``, with
ImageNet-21k/1k weights; ``arch="vit_small_patch16_224"`` is the named
smaller variant) and model time with a GRU or a Transformer encoder. 5m/5n
are the ``transformers`` TimeSformer and ViViT base configurations; they
train from scratch unless ``weights`` names their Kinetics-400 checkpoint
(``"DEFAULT"``: torch hub's cache, else downloaded; or a file).

Every builder takes the clip's ``frames`` and ``size`` (``clip_args``): the
position embeddings are sized by them, so the catalog passes the preset's
clip to the network and the two can never disagree. Normalisation follows
the weights: the statistics the checkpoint was trained with when it is
used, ImageNet's otherwise (never Kinetics statistics by default).
"""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from .catalog import IMAGENET, ModelEntry, Weights, register_model
from .video_zoo import FULL_TRAIN, _clips, _p, _smoke

HF = "https://huggingface.co"
# ImageNet-21k pre-trained, ImageNet-1k fine-tuned (AugReg2) ViT-B/16: timm's default ViT-B/16 weights.
# Their normalisation is mean = std = 0.5 (timm pretrained_cfg); size: Dosovitskiy et al. 2021, Table 1
# (ViT-Base, 86M) = torchvision ViT_B_16_Weights meta num_params 86,567,656.
VIT_B16_IN21K_IN1K = Weights(
    "vit_base_patch16_224.augreg2_in21k_ft_in1k",
    f"{HF}/timm/vit_base_patch16_224.augreg2_in21k_ft_in1k/resolve/main/model.safetensors",
    (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), file="vit_base_patch16_224.augreg2_in21k_ft_in1k.safetensors",
    meta={"num_params": 86_567_656, "source": "Dosovitskiy et al. 2021 Table 1; torchvision ViT_B_16_Weights"})
# Kinetics-400 checkpoints of the transformers implementations. TimeSformer: the facebookresearch/TimeSformer
# data config (DATA.MEAN 0.45, DATA.STD 0.225); 121.4M parameters (Bertasius et al. 2021, Table 1, divided
# space-time attention). ViViT: VivitImageProcessor rescales to [-1, 1] (1/127.5, offset) and then normalises
# with 0.5/0.5, i.e. (x - 0.75) / 0.25 on the 0-1 scale; 88.9M parameters (Arnab et al. 2021, ViViT-B model 1,
# spatio-temporal attention, tubelet 16x2).
TIMESFORMER_K400 = Weights(
    "facebook/timesformer-base-finetuned-k400",
    f"{HF}/facebook/timesformer-base-finetuned-k400/resolve/main/pytorch_model.bin",
    (0.45, 0.45, 0.45), (0.225, 0.225, 0.225), file="timesformer-base-finetuned-k400.bin",
    meta={"num_params": 121_400_000, "source": "Bertasius et al. 2021, Table 1 (divided space-time, 121.4M)"})
VIVIT_K400 = Weights(
    "google/vivit-b-16x2-kinetics400",
    f"{HF}/google/vivit-b-16x2-kinetics400/resolve/main/pytorch_model.bin",
    (0.75, 0.75, 0.75), (0.25, 0.25, 0.25), file="vivit-b-16x2-kinetics400.bin",
    meta={"num_params": 88_900_000, "source": "Arnab et al. 2021, ViViT-B spatio-temporal (model 1), 88.9M"})

# Smoke: a tiny ViT (patch 8, width 64, depth 2) on 8 frames of 32x32, trained from scratch.
TINY_VIT = {"patch_size": 8, "embed_dim": 64, "depth": 2, "num_heads": 2, "weights": None}
TINY_VIDEO = {"patch_size": 8, "hidden_size": 64, "depth": 2, "heads": 2, "weights": None}
CLIP_ARGS = ("frames", "size")


def _vit_weights(arch: str, weights: Weights | str | None):
    """The catalog's weights are ViT-B/16's: another arch needs its own file (or none), never a silent mismatch."""
    if isinstance(weights, Weights) and not weights.name.startswith(f"{arch}."):
        raise InputError("model", f"weights {weights.name} are for another ViT than '{arch}'; give weights=<file> "
                         "for it or --no-pretrained")
    return weights


def vit_gru(*, arch: str = "vit_base_patch16_224", frames: int = 16, size: int = 224, patch_size: int | None = None,
            embed_dim: int | None = None, depth: int | None = None, num_heads: int | None = None, hidden: int = 512,
            weights: Weights | str | None = None, dropout: float = 0.5):
    from .deep.vit_temporal import ViTTemporal

    return ViTTemporal(temporal="gru", arch=arch, frames=frames, size=size, patch_size=patch_size,
                       embed_dim=embed_dim, depth=depth, num_heads=num_heads, hidden=hidden,
                       weights=_vit_weights(arch, weights), dropout=dropout)


def vit_transformer(*, arch: str = "vit_base_patch16_224", frames: int = 16, size: int = 224,
                    patch_size: int | None = None, embed_dim: int | None = None, depth: int | None = None,
                    num_heads: int | None = None, temporal_depth: int = 2, temporal_heads: int = 8, pool: str = "cls",
                    weights: Weights | str | None = None, dropout: float = 0.5):
    from .deep.vit_temporal import ViTTemporal

    return ViTTemporal(temporal="transformer", arch=arch, frames=frames, size=size, patch_size=patch_size,
                       embed_dim=embed_dim, depth=depth, num_heads=num_heads, temporal_depth=temporal_depth,
                       temporal_heads=temporal_heads, pool=pool, weights=_vit_weights(arch, weights),
                       dropout=dropout)


def timesformer(*, frames: int = 8, size: int = 224, patch_size: int = 16, hidden_size: int = 768, depth: int = 12,
                heads: int = 12, weights: Weights | str | None = None, dropout: float = 0.5):
    from .deep.video_transformers import VideoTransformer

    return VideoTransformer("timesformer", frames=frames, size=size, weights=weights, dropout=dropout,
                            patch_size=patch_size, hidden_size=hidden_size, depth=depth, heads=heads)


def vivit(*, frames: int = 32, size: int = 224, patch_size: int = 16, tubelet_frames: int = 2, hidden_size: int = 768,
          depth: int = 12, heads: int = 12, weights: Weights | str | None = None, dropout: float = 0.5):
    from .deep.video_transformers import VideoTransformer

    return VideoTransformer("vivit", frames=frames, size=size, weights=weights, dropout=dropout,
                            patch_size=patch_size, tubelet_frames=tubelet_frames, hidden_size=hidden_size,
                            depth=depth, heads=heads)


def _imagenet() -> Any:
    return _clips(mean=IMAGENET[0], std=IMAGENET[1])


VIT_CLIP = {"frames": 16, "size": 224, "clips_per_video": 1}
# From scratch (the default for 5m/5n) a transformer needs a gentler rate than a new head on a pretrained trunk.
SCRATCH_TRAIN = {**FULL_TRAIN, "lr_head": 1e-4}

_ENTRIES = [
    ModelEntry("5k", "ViT-GRU", "deep", vit_gru,
               {"smoke": _smoke({**TINY_VIT, "hidden": 64}),
                "full": _p({"arch": "vit_base_patch16_224", "hidden": 512, "weights": "DEFAULT"}, VIT_CLIP,
                           dict(FULL_TRAIN))},
               _imagenet(), "Per-frame ViT-B/16 (ImageNet-21k/1k) features, GRU over time, mean-pooled head",
               paper="Dosovitskiy et al. 2021; Cho et al. 2014", year=2021, aliases=("vit-gru",),
               weights=VIT_B16_IN21K_IN1K, clip_args=CLIP_ARGS, num_params=87_768_321),
    ModelEntry("5l", "ViT-Transformer", "deep", vit_transformer,
               {"smoke": _smoke({**TINY_VIT, "temporal_depth": 1, "temporal_heads": 2}),
                "full": _p({"arch": "vit_base_patch16_224", "temporal_depth": 2, "temporal_heads": 8, "pool": "cls",
                            "weights": "DEFAULT"}, VIT_CLIP, dict(FULL_TRAIN))},
               _imagenet(), "Per-frame ViT-B/16 (ImageNet-21k/1k) features, temporal Transformer encoder (CLS)",
               paper="Dosovitskiy et al. 2021; Vaswani et al. 2017", year=2021, aliases=("vit-transformer",),
               weights=VIT_B16_IN21K_IN1K, clip_args=CLIP_ARGS, num_params=99_990_529),
    ModelEntry("5m", "TimeSformer", "deep", timesformer,
               {"smoke": _smoke(dict(TINY_VIDEO)),
                "full": _p({"weights": None}, {"frames": 8, "size": 224, "clips_per_video": 1}, dict(SCRATCH_TRAIN))},
               _imagenet(), "TimeSformer-Base, divided space-time attention, 8x224, patch 16 (transformers)",
               paper="Bertasius et al. 2021", year=2021, aliases=("timesformer",), weights=TIMESFORMER_K400,
               clip_args=CLIP_ARGS, num_params=121_259_521),
    ModelEntry("5n", "ViViT", "deep", vivit,
               {"smoke": _smoke({**TINY_VIDEO, "tubelet_frames": 2}),
                "full": _p({"weights": None}, {"frames": 32, "size": 224, "clips_per_video": 1},
                           {**SCRATCH_TRAIN, "batch_size": 4})},
               _imagenet(), "ViViT-B, spatio-temporal tubelets 2x16x16, 32x224 (transformers)",
               paper="Arnab et al. 2021", year=2021, aliases=("vivit",), weights=VIVIT_K400, clip_args=CLIP_ARGS,
               num_params=88_647_169),
]
for _entry in _ENTRIES:
    register_model(_entry)
