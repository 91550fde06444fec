"""5k ViT-GRU and 5l ViT-Transformer: a timm ViT on every frame, then a model over time.

The ViT is timm's ``VisionTransformer`` built from a config (no hub access);
ImageNet weights come from a local file or torch hub's cache via
:mod:`.weights` and are adapted by timm's own checkpoint filter (position
embeddings resampled to the clip size). The per-frame CLS features go to a
GRU (5k, mean of its outputs) or a small Transformer encoder with a temporal
CLS token and position embeddings (5l); both are new, so they train at the
head's rate.
"""

from __future__ import annotations

import torch
from torch import nn

from ...errors import InputError
from .base import BinaryHead, DeepModel
from .weights import resolve_weights

TEMPORAL = ("gru", "transformer")
POOLS = ("cls", "mean")


def frame_vit(arch: str, size: int, num_classes: int = 0, **overrides) -> nn.Module:
    """timm ViT ``arch`` at ``size`` pixels, with optional patch/width/depth/heads overrides (None = arch's)."""
    import timm

    kwargs = {k: v for k, v in overrides.items() if v is not None}
    try:
        return timm.create_model(arch, pretrained=False, num_classes=num_classes, img_size=size, **kwargs)
    except RuntimeError as exc:  # timm: unknown model name
        raise InputError("model", f"ViT '{arch}': {exc}") from exc


def load_vit_weights(vit: nn.Module, weights) -> bool:
    """Load ImageNet ViT weights (catalog entry or file) into ``vit``; the classifier is dropped."""
    from timm.models.vision_transformer import checkpoint_filter_fn

    state = resolve_weights(weights)
    if state is None:
        return False
    state = {k: v for k, v in checkpoint_filter_fn(state, vit).items() if not k.startswith("head.")}
    try:
        vit.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[1].strip() if "\n" in str(exc) else str(exc)
        name = getattr(weights, "name", weights)
        raise InputError("weights", f"{name} do not fit this ViT ({first[:120]})") from exc
    return True


class ViTTemporal(DeepModel):
    """Per-frame ViT features -> GRU or Transformer over time -> pooled -> binary head."""

    head_prefixes = ("temporal", "head")

    def __init__(self, *, temporal: str = "gru", arch: str = "vit_base_patch16_224", frames: int = 16,
                 size: int = 224, patch_size: int | None = None, embed_dim: int | None = None,
                 depth: int | None = None, num_heads: int | None = None, hidden: int = 512,
                 temporal_depth: int = 2, temporal_heads: int = 8, pool: str = "cls", weights=None,
                 dropout: float = 0.5):
        super().__init__()
        if temporal not in TEMPORAL:
            raise InputError("model", f"temporal must be one of {TEMPORAL}, got '{temporal}'")
        if pool not in POOLS:
            raise InputError("model", f"pool must be one of {POOLS}, got '{pool}'")
        self.frames, self.kind, self.pool = frames, temporal, pool
        self.vit = frame_vit(arch, size, patch_size=patch_size, embed_dim=embed_dim, depth=depth,
                             num_heads=num_heads)
        self.pretrained = load_vit_weights(self.vit, weights)
        dim = self.vit.num_features
        if temporal == "gru":
            self.temporal = nn.GRU(dim, hidden, batch_first=True)
            out_dim = hidden
        else:
            self.temporal = TemporalEncoder(dim, frames, temporal_depth, temporal_heads)
            out_dim = dim
        self.head = BinaryHead(out_dim, dropout)

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        self.vit.set_grad_checkpointing(enable)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = clip.shape
        if t != self.frames:
            raise ValueError(f"clip has {t} frames, the model was built for {self.frames}")
        feats = self.vit(clip.transpose(1, 2).reshape(b * t, c, h, w)).view(b, t, -1)
        if self.kind == "gru":
            pooled = self.temporal(feats)[0].mean(1)
        else:
            pooled = self.temporal(feats, self.pool)
        return self.head(pooled)


class TemporalEncoder(nn.Module):
    """Pre-norm Transformer encoder over frame features, with a CLS token and learned positions."""

    def __init__(self, dim: int, frames: int, depth: int, heads: int, dropout: float = 0.1):
        super().__init__()
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.zeros(1, frames + 1, dim))
        nn.init.trunc_normal_(self.pos, std=0.02)
        nn.init.trunc_normal_(self.cls, std=0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, pool: str = "cls") -> torch.Tensor:
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        x = self.norm(self.encoder(x))
        return x[:, 0] if pool == "cls" else x[:, 1:].mean(1)


def published_vit(arch: str = "vit_base_patch16_224") -> nn.Module:
    """The ImageNet classifier as published (1000 classes, 224 px), for parameter-count checks."""
    return frame_vit(arch, 224, num_classes=1000)
