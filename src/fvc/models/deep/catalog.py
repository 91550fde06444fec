"""The deep model zoo: ids, builders and the ``smoke`` / ``full`` presets.

A preset has three parts: ``model`` (builder keyword arguments), ``clip``
(:class:`~fvc.training.clips.ClipSpec` fields), ``train``
(:class:`~fvc.training.trainer.TrainConfig` fields) and ``data`` (which
rows: ``source`` table, ``copies_per_source``). ``RunConfig.params``
overrides any of them by name. ``smoke`` presets are tiny (8 frames of
32x32, one epoch, the original of each video only, narrow trunks for the
R50 families, 4 frames and 4 batches per epoch for the 14-33M-parameter
trunks, no early-stopping hold-out) and train from scratch by explicit choice (``pretrained: false``)
so they run offline on CPU in about two minutes or less; ``full`` presets follow the published
configurations and ask for pretrained weights where the paper used them.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from torch import nn

from ...errors import InputError
from ...training.clips import ClipSpec
from ...training.trainer import TrainConfig
from .i3d import I3D
from .r3d import TorchvisionVideoResNet
from .simple3d import Simple3DCNN
from .slowfast import MultiScaleSlowFast, SlowFast
from .two_stream import TwoStream
from .varaspect import VarAspectCNN
from .x3d import X3D

SMOKE_CLIP = {"frames": 8, "size": 32, "clips_per_video": 1}
SMOKE_TRAIN = {"epochs": 1, "batch_size": 4, "lr_head": 1e-3, "warmup_fraction": 0.0, "patience": 1, "num_threads": 1}
FULL_TRAIN = {"epochs": 30, "batch_size": 8, "effective_batch_size": 32, "lr_backbone": 5e-5, "lr_head": 5e-4,
              "weight_decay": 0.05, "warmup_fraction": 0.1, "patience": 5, "monitor": "val_auc"}
TINY_SLOWFAST = {"depths": (1, 1, 1, 1), "width": 16}
# 14-33M-parameter trunks (and X3D's depthwise 3D convs, slow on CPU): 4 frames, 4 batches per epoch in smoke runs
HEAVY_SMOKE = {"max_batches_per_epoch": 4}
# Which rows of the clip table to use: 'source' table, augmented copies per source video (None = all), device.
# val_share: share of training groups held out for early stopping (0 = none: smoke runs have one epoch).
DATA_KEYS = ("source", "copies_per_source", "device", "val_share")
SMOKE_DATA = {"copies_per_source": 1, "val_share": 0.0}


@dataclass(frozen=True)
class DeepModelDef:
    id: str
    name: str
    description: str
    builder: Callable[..., nn.Module]
    presets: dict[str, dict[str, dict[str, Any]]]
    inputs: str = "scaled clips (RGB)"
    aliases: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def preset(self, name: str, overrides: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
        """Resolved {model, clip, train} for a preset ('default' means 'full'), with overrides."""
        key = "full" if name == "default" else name
        if key not in self.presets:
            raise InputError("--preset", f"model {self.id} has no preset '{name}' (known: {', '.join(self.presets)})")
        out = copy.deepcopy(self.presets[key])
        out.setdefault("data", {})
        clip_names = {f.name for f in fields(ClipSpec)}
        train_names = {f.name for f in fields(TrainConfig)}
        for k, v in (overrides or {}).items():
            if k == "pretrained" and not self.has_pretrained:
                if v not in (False, None, "none"):
                    raise InputError("--pretrained", f"model {self.id} ({self.name}) has no pretrained weights")
                continue  # --no-pretrained on a model that always trains from scratch: nothing to turn off
            part = "data" if k in DATA_KEYS else "clip" if k in clip_names else "train" if k in train_names else "model"
            out[part][k] = v
        return out

    @property
    def has_pretrained(self) -> bool:
        return "pretrained" in inspect.signature(self.builder).parameters

    def build(self, model_kwargs: dict[str, Any]) -> nn.Module:
        try:
            return self.builder(**model_kwargs)
        except TypeError as exc:
            raise InputError("model params", f"model {self.id}: {exc}") from exc


def _p(model: dict, clip: dict, train: dict, data: dict | None = None) -> dict[str, dict[str, Any]]:
    return {"model": model, "clip": clip, "train": train, "data": dict(data or {})}


def _smoke(model: dict, heavy: bool = False, **clip: Any) -> dict[str, dict[str, Any]]:
    clip = {**SMOKE_CLIP, **({"frames": 4} if heavy else {}), **clip}
    return _p(model, clip, {**SMOKE_TRAIN, **(HEAVY_SMOKE if heavy else {})}, SMOKE_DATA)


DEFS: list[DeepModelDef] = [
    DeepModelDef(
        "5c", "naive 3D CNN", "Plain 3D conv-BN-ReLU-pool baseline", Simple3DCNN,
        {"smoke": _smoke({"widths": (8, 16, 32)}),
         "full": _p({"widths": (32, 64, 128, 256)}, {"frames": 16, "size": 112, "clips_per_video": 2},
                    {**FULL_TRAIN, "lr_head": 1e-3})},
    ),
    DeepModelDef(
        "5d", "R3D-18", "torchvision R3D-18, Kinetics-400 weights", TorchvisionVideoResNet,
        {"smoke": _smoke({"arch": "r3d_18", "pretrained": False}, heavy=True),
         "full": _p({"arch": "r3d_18", "pretrained": True}, {"frames": 16, "size": 112, "clips_per_video": 2},
                    dict(FULL_TRAIN))},
        aliases=("r3d_18", "r3d-18"),
    ),
    DeepModelDef(
        "5e", "variable-aspect CNN", "3D CNN on unpadded frames of any aspect, masked pooling", VarAspectCNN,
        {"smoke": _smoke({"widths": (8, 16, 32)}, mode="varaspect"),
         "full": _p({"widths": (32, 64, 128, 256)},
                    {"frames": 16, "size": 128, "clips_per_video": 2, "mode": "varaspect"},
                    {**FULL_TRAIN, "lr_head": 1e-3})},
        inputs="scaled clips (RGB, unpadded, any aspect)",
    ),
    DeepModelDef(
        "5o", "I3D", "ImageNet ResNet-50 inflated to 3D", I3D,
        {"smoke": _smoke({"depth": "resnet18", "pretrained": False, "temporal_pool": False}, heavy=True),
         "full": _p({"depth": "resnet50", "pretrained": True}, {"frames": 16, "size": 224, "clips_per_video": 2},
                    dict(FULL_TRAIN))},
    ),
    DeepModelDef(
        "5p", "R(2+1)D-18", "torchvision R(2+1)D-18, Kinetics-400 weights", TorchvisionVideoResNet,
        {"smoke": _smoke({"arch": "r2plus1d_18", "pretrained": False}, heavy=True),
         "full": _p({"arch": "r2plus1d_18", "pretrained": True}, {"frames": 16, "size": 112, "clips_per_video": 2},
                    dict(FULL_TRAIN))},
        aliases=("r2plus1d_18",),
    ),
    DeepModelDef(
        "5q", "X3D", "X3D (variant xs/s/m via params.variant; full = X3D-S 13x160)", X3D,
        {"smoke": _smoke({"variant": "xs"}, heavy=True),
         "full": _p({"variant": "s"}, {"frames": 13, "size": 160, "clips_per_video": 2},
                    {**FULL_TRAIN, "lr_head": 1e-3})},
    ),
    DeepModelDef(
        "5r", "SlowFast R50", "SlowFast R50 8x8 (alpha 4, beta 1/8)", SlowFast,
        {"smoke": _smoke(dict(TINY_SLOWFAST)),
         "full": _p({}, {"frames": 32, "size": 224, "clips_per_video": 1}, {**FULL_TRAIN, "lr_head": 1e-3})},
    ),
    DeepModelDef(
        "5s", "SlowFast + attention", "SlowFast R50 with non-local blocks after res3 and res4", SlowFast,
        {"smoke": _smoke({**TINY_SLOWFAST, "nonlocal_stages": (3, 4)}),
         "full": _p({"nonlocal_stages": (3, 4)}, {"frames": 32, "size": 224, "clips_per_video": 1},
                    {**FULL_TRAIN, "lr_head": 1e-3})},
    ),
    DeepModelDef(
        "5t", "multi-scale SlowFast", "Shared SlowFast trunk on (1x, full res) and (1/2 time, 1/2 res) views",
        MultiScaleSlowFast,
        {"smoke": _smoke(dict(TINY_SLOWFAST)),
         "full": _p({"scales": ((1, 1.0), (2, 0.5))}, {"frames": 32, "size": 224, "clips_per_video": 1},
                    {**FULL_TRAIN, "lr_head": 1e-3})},
    ),
    DeepModelDef(
        "5u", "two-stream", "RGB + Farneback optical-flow streams, late fusion", TwoStream,
        {"smoke": _smoke({"backbone": "small", "pretrained": False, "widths": (8, 16, 32)}, flow=True),
         "full": _p({"backbone": "r3d_18", "pretrained": True},
                    {"frames": 16, "size": 112, "clips_per_video": 2, "flow": True}, dict(FULL_TRAIN))},
        inputs="scaled clips (RGB) + optical flow",
    ),
]

BY_ID = {d.id: d for d in DEFS}


def get_def(model_id: str) -> DeepModelDef:
    key = model_id.lower()
    for d in DEFS:
        if key == d.id.lower() or key == d.name.lower() or key in d.aliases:
            return d
    raise InputError("--model", f"unknown deep model '{model_id}' (known: {', '.join(BY_ID)})")
