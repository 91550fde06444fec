"""Deep video models 5c-5u: keyword-only builders, weights, data configs and ``smoke``/``full`` presets.

A preset has four parts: ``model`` (builder arguments), ``clip``
(:class:`~fvc.training.clips.ClipSpec` fields), ``train``
(:class:`~fvc.training.train_config.TrainConfig` fields) and ``data`` (which
rows: ``source`` table, ``copies_per_source``, ``val_share``). ``smoke``
presets are tiny (8 frames of 32x32, one epoch, the original of each video
only, narrow trunks, 4 batches per epoch for the 14-33M-parameter trunks, no
early-stopping hold-out) and train from scratch, so they run offline on CPU
in about two minutes or less; ``full`` presets follow the published
configurations and ask for pretrained weights where the paper used them.

Builders import torch inside (``fvc models`` and ``fvc --help`` stay fast).
"""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from .catalog import IMAGENET, KINETICS, DataConfig, ModelEntry, Weights, register_model

SMOKE_CLIP = {"frames": 8, "size": 32, "clips_per_video": 1}
SMOKE_TRAIN = {"epochs": 1, "batch_size": 4, "lr_head": 1e-3, "warmup_fraction": 0.0, "patience": 1, "num_threads": 1}
FULL_TRAIN = {"epochs": 30, "batch_size": 8, "effective_batch_size": 32, "lr_backbone": 5e-5, "lr_head": 5e-4,
              "weight_decay": 0.05, "warmup_fraction": 0.1, "patience": 5, "monitor": "val_auc"}
TINY_SLOWFAST = {"depths": (1, 1, 1, 1), "width": 16}
# 14-33M-parameter trunks (and X3D's depthwise 3D convs, slow on CPU): 4 frames, 4 batches per epoch in smoke runs
HEAVY_SMOKE = {"max_batches_per_epoch": 4}
SMOKE_DATA = {"copies_per_source": 1, "val_share": 0.0}
# X3D-XS/S/M share one network and differ in input: (frames, crop) from the X3D paper, Table 3,
# and the PyTorchVideo model zoo.
X3D_VARIANTS = {"xs": (4, 160), "s": (13, 160), "m": (16, 224)}

# Published sizes from torchvision's WeightsEnum meta["num_params"].
R3D_18_K400 = Weights("R3D_18_Weights.KINETICS400_V1", "https://download.pytorch.org/models/r3d_18-b3b3357e.pth",
                      *KINETICS, meta={"num_params": 33_371_472, "source": "torchvision R3D_18_Weights"})
R2PLUS1D_18_K400 = Weights("R2Plus1D_18_Weights.KINETICS400_V1",
                           "https://download.pytorch.org/models/r2plus1d_18-91a641e6.pth", *KINETICS,
                           meta={"num_params": 31_505_325, "source": "torchvision R2Plus1D_18_Weights"})
RESNET50_IN1K = Weights("ResNet50_Weights.IMAGENET1K_V2", "https://download.pytorch.org/models/resnet50-11ad3fa6.pth",
                        *IMAGENET, meta={"num_params": 25_557_032, "source": "torchvision ResNet50_Weights"})


def _clips(**own: Any) -> DataConfig:
    """Scaled clips normalised with the model's own statistics (weights override them when used)."""
    return DataConfig(kind="clips", source="scaled", mean=own.get("mean", KINETICS[0]),
                      std=own.get("std", KINETICS[1]))


def _p(model: dict, clip: dict, train: dict, data: dict | None = None) -> dict[str, dict[str, Any]]:
    return {"model": model, "clip": clip, "train": train, "data": dict(data or {})}


def _smoke(model: dict, heavy: bool = False, **clip: Any) -> dict[str, dict[str, Any]]:
    clip = {**SMOKE_CLIP, **({"frames": 4} if heavy else {}), **clip}
    return _p(model, clip, {**SMOKE_TRAIN, **(HEAVY_SMOKE if heavy else {})}, SMOKE_DATA)


# -- builders ---------------------------------------------------------------------
def naive_3d_cnn(*, widths: tuple[int, ...] = (32, 64, 128, 256), dropout: float = 0.5):
    from .deep.simple3d import Simple3DCNN

    return Simple3DCNN(tuple(widths), dropout)


def r3d_18(*, weights: Weights | str | None = None, dropout: float = 0.5):
    from .deep.r3d import TorchvisionVideoResNet

    return TorchvisionVideoResNet("r3d_18", weights=weights, dropout=dropout)


def r2plus1d_18(*, weights: Weights | str | None = None, dropout: float = 0.5):
    from .deep.r3d import TorchvisionVideoResNet

    return TorchvisionVideoResNet("r2plus1d_18", weights=weights, dropout=dropout)


def varaspect_cnn(*, widths: tuple[int, ...] = (32, 64, 128, 256), dropout: float = 0.5):
    from .deep.varaspect import VarAspectCNN

    return VarAspectCNN(tuple(widths), dropout)


def i3d(*, depth: str = "resnet50", weights: Weights | str | None = None, temporal_pool: bool = True,
        dropout: float = 0.5):
    from .deep.i3d import I3D

    return I3D(depth=depth, weights=weights, temporal_pool=temporal_pool, dropout=dropout)


def x3d(*, variant: str = "s", dropout: float = 0.5):
    from .deep.x3d import X3D

    return X3D(variant=variant, dropout=dropout)


def x3d_clip(variant: str) -> dict[str, int]:
    """The published input of an X3D variant."""
    if variant not in X3D_VARIANTS:
        raise InputError("model", f"unknown X3D variant '{variant}' (known: {', '.join(X3D_VARIANTS)})")
    frames, size = X3D_VARIANTS[variant]
    return {"frames": frames, "size": size}


def slowfast_r50(*, nonlocal_stages: tuple[int, ...] = (), depths: tuple[int, ...] = (3, 4, 6, 3), width: int = 64,
                 dropout: float = 0.5):
    from .deep.slowfast import SlowFast

    return SlowFast(depths=tuple(depths), width=width, dropout=dropout, nonlocal_stages=tuple(nonlocal_stages))


def multiscale_slowfast(*, scales=((1, 1.0), (2, 0.5)), depths: tuple[int, ...] = (3, 4, 6, 3), width: int = 64,
                        dropout: float = 0.5):
    from .deep.slowfast import MultiScaleSlowFast

    return MultiScaleSlowFast(scales=tuple(tuple(s) for s in scales), depths=tuple(depths), width=width,
                              dropout=dropout)


def two_stream(*, backbone: str = "r3d_18", weights: Weights | str | None = None,
               widths: tuple[int, ...] = (16, 32, 64), dropout: float = 0.5):
    from .deep.two_stream import TwoStream

    return TwoStream(backbone=backbone, weights=weights, widths=tuple(widths), dropout=dropout)


FULL_112 = {"frames": 16, "size": 112, "clips_per_video": 2}
FULL_224 = {"frames": 32, "size": 224, "clips_per_video": 1}

_ENTRIES = [
    ModelEntry("5c", "naive 3D CNN", "deep", naive_3d_cnn,
               {"smoke": _smoke({"widths": (8, 16, 32)}),
                "full": _p({"widths": (32, 64, 128, 256)}, FULL_112, {**FULL_TRAIN, "lr_head": 1e-3})},
               _clips(), "Plain 3D conv-BN-ReLU-pool baseline", paper="Tran et al. 2015 (C3D-style)", year=2015,
               num_params=1_165_025),
    ModelEntry("5d", "R3D-18", "deep", r3d_18,
               {"smoke": _smoke({"weights": None}, heavy=True),
                "full": _p({"weights": "DEFAULT"}, FULL_112, dict(FULL_TRAIN))},
               _clips(), "torchvision R3D-18 (3D ResNet), Kinetics-400 weights", paper="Tran et al. 2018",
               year=2018, aliases=("r3d_18", "r3d-18"), weights=R3D_18_K400, num_params=33_166_785),
    ModelEntry("5e", "variable-aspect CNN", "deep", varaspect_cnn,
               {"smoke": _smoke({"widths": (8, 16, 32)}, mode="varaspect"),
                "full": _p({"widths": (32, 64, 128, 256)}, {**FULL_112, "size": 128, "mode": "varaspect"},
                           {**FULL_TRAIN, "lr_head": 1e-3})},
               _clips(), "3D CNN on unpadded frames of any aspect, masked pooling", paper="fvc (own design)",
               num_params=1_949_345),
    ModelEntry("5o", "I3D", "deep", i3d,
               {"smoke": _smoke({"depth": "resnet18", "weights": None, "temporal_pool": False}, heavy=True),
                "full": _p({"depth": "resnet50", "weights": "DEFAULT"}, {**FULL_112, "size": 224},
                           dict(FULL_TRAIN))},
               _clips(mean=IMAGENET[0], std=IMAGENET[1]), "ImageNet ResNet-50 inflated to 3D",
               paper="Carreira & Zisserman 2017", year=2017, weights=RESNET50_IN1K, num_params=28_274_497),
    ModelEntry("5p", "R(2+1)D-18", "deep", r2plus1d_18,
               {"smoke": _smoke({"weights": None}, heavy=True),
                "full": _p({"weights": "DEFAULT"}, FULL_112, dict(FULL_TRAIN))},
               _clips(), "torchvision R(2+1)D-18, Kinetics-400 weights", paper="Tran et al. 2018", year=2018,
               aliases=("r2plus1d_18",), weights=R2PLUS1D_18_K400, num_params=31_300_638),
    ModelEntry("5q", "X3D", "deep", x3d,
               {"smoke": _smoke({"variant": "xs"}, heavy=True),
                "full": _p({"variant": "s"}, {**x3d_clip("s"), "clips_per_video": 2},
                           {**FULL_TRAIN, "lr_head": 1e-3})},
               _clips(), "X3D (variant xs/s/m selects the published clip; full = X3D-S 13x160)",
               paper="Feichtenhofer 2020", year=2020, clip_for=x3d_clip, num_params=2_976_771),
    ModelEntry("5r", "SlowFast R50", "deep", slowfast_r50,
               {"smoke": _smoke(dict(TINY_SLOWFAST)),
                "full": _p({}, FULL_224, {**FULL_TRAIN, "lr_head": 1e-3})},
               _clips(), "SlowFast R50 8x8 (alpha 4, beta 1/8)", paper="Feichtenhofer et al. 2019", year=2019,
               num_params=33_646_793),
    ModelEntry("5s", "SlowFast + attention", "deep", slowfast_r50,
               {"smoke": _smoke({**TINY_SLOWFAST, "nonlocal_stages": (3, 4)}),
                "full": _p({"nonlocal_stages": (3, 4)}, FULL_224, {**FULL_TRAIN, "lr_head": 1e-3})},
               _clips(), "SlowFast R50 with non-local blocks after res3 and res4",
               paper="Feichtenhofer et al. 2019; Wang et al. 2018", year=2019, num_params=36_275_145),
    ModelEntry("5t", "multi-scale SlowFast", "deep", multiscale_slowfast,
               {"smoke": _smoke(dict(TINY_SLOWFAST)),
                "full": _p({"scales": ((1, 1.0), (2, 0.5))}, FULL_224, {**FULL_TRAIN, "lr_head": 1e-3})},
               _clips(), "Shared SlowFast trunk on (1x, full res) and (1/2 time, 1/2 res) views",
               paper="fvc (after Feichtenhofer et al. 2019)", year=2019, num_params=33_646_795),
    ModelEntry("5u", "two-stream", "deep", two_stream,
               {"smoke": _smoke({"backbone": "small", "weights": None, "widths": (8, 16, 32)}, flow=True),
                "full": _p({"backbone": "r3d_18", "weights": "DEFAULT"}, {**FULL_112, "flow": True},
                           dict(FULL_TRAIN))},
               _clips(), "RGB + Farneback optical-flow streams, late fusion", paper="Simonyan & Zisserman 2014",
               year=2014, weights=R3D_18_K400, num_params=66_324_163),
]
for _entry in _ENTRIES:
    register_model(_entry)
