"""5m TimeSformer and 5n ViViT: the ``transformers`` implementations, built from a config.

``TimesformerModel`` (divided space-time attention, Bertasius et al. 2021)
and ``VivitModel`` (spatio-temporal tokens from tubelets, Arnab et al. 2021;
the library implements the unfactorised model 1) are randomly initialised
from a ``TimesformerConfig``/``VivitConfig`` sized by the clip, so nothing is
fetched from the hub at build time. Kinetics-400 checkpoints
(``*ForVideoClassification`` state dicts) load from a local file or torch
hub's cache; their Kinetics classifier is dropped for the binary head on
the CLS token.
"""

from __future__ import annotations

import torch
from torch import nn

from ...errors import InputError
from .base import BinaryHead, DeepModel
from .weights import resolve_weights

ARCHS = ("timesformer", "vivit")


def hf_config(arch: str, *, frames: int, size: int, patch_size: int = 16, tubelet_frames: int = 2,
              hidden_size: int = 768, depth: int = 12, heads: int = 12, mlp_dim: int | None = None):
    """A ``TimesformerConfig`` or ``VivitConfig``; defaults are the published base configurations."""
    if arch not in ARCHS:
        raise InputError("model", f"unknown video transformer '{arch}' (known: {', '.join(ARCHS)})")
    if size % patch_size or (arch == "vivit" and frames % tubelet_frames):
        raise InputError("model", f"{arch}: clip {frames}x{size} is not divisible into patches of {patch_size} "
                         f"({'and ' + str(tubelet_frames) + ' frames' if arch == 'vivit' else ''})")
    common = dict(image_size=size, num_frames=frames, hidden_size=hidden_size, num_hidden_layers=depth,
                  num_attention_heads=heads, intermediate_size=mlp_dim or 4 * hidden_size)
    if arch == "timesformer":
        from transformers import TimesformerConfig

        return TimesformerConfig(patch_size=patch_size, attention_type="divided_space_time", **common)
    from transformers import VivitConfig

    return VivitConfig(tubelet_size=[tubelet_frames, patch_size, patch_size], **common)


def hf_backbone(config) -> nn.Module:
    if config.model_type == "timesformer":
        from transformers import TimesformerModel

        return TimesformerModel(config)
    from transformers import VivitModel

    return VivitModel(config, add_pooling_layer=False)


class VideoTransformer(DeepModel):
    """A ``transformers`` video encoder; its final CLS token feeds the binary head."""

    head_prefixes = ("head",)

    def __init__(self, arch: str = "timesformer", *, frames: int = 8, size: int = 224, weights=None,
                 dropout: float = 0.5, **config):
        super().__init__()
        self.arch = arch
        self.backbone = hf_backbone(hf_config(arch, frames=frames, size=size, **config))
        state = resolve_weights(weights)
        if state is not None:
            self._load(state, getattr(weights, "name", weights))
        self.pretrained = state is not None
        self.head = BinaryHead(self.backbone.config.hidden_size, dropout)

    def _load(self, state: dict[str, torch.Tensor], name) -> None:
        """A ``*ForVideoClassification`` (or bare encoder) state dict, classifier dropped."""
        prefix = f"{self.arch}."
        state = {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in state.items()
                 if not k.startswith(("classifier.", "pooler.", f"{prefix}pooler."))}
        try:
            self.backbone.load_state_dict(state)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[1].strip() if "\n" in str(exc) else str(exc)
            raise InputError("weights", f"{name} do not fit {self.arch} at this clip size ({first[:120]})") from exc

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        # transformers 5 renamed gradient_* to activation_checkpointing_* (the old names warn, then go in v6)
        bb = self.backbone
        if enable:
            on = getattr(bb, "activation_checkpointing_enable", None) or bb.gradient_checkpointing_enable
            on({"use_reentrant": False})
        else:
            (getattr(bb, "activation_checkpointing_disable", None) or bb.gradient_checkpointing_disable)()

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        # (B, 3, T, H, W) -> (B, T, 3, H, W), the layout both implementations take
        out = self.backbone(pixel_values=clip.transpose(1, 2))
        return self.head(out.last_hidden_state[:, 0])


def published(arch: str) -> nn.Module:
    """The Kinetics-400 classifier as published (base config, 400 classes) on the meta device, for counting."""
    frames = 8 if arch == "timesformer" else 32
    with torch.device("meta"):
        model = VideoTransformer(arch, frames=frames, size=224)
        model.head = nn.Linear(model.backbone.config.hidden_size, 400)
    return model
