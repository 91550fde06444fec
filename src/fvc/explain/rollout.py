"""Where in the frame a video transformer looked: attention rollout (Abnar & Zuidema, 2020).

Each layer's attention, averaged over heads, with the identity added for the
residual path and rows renormalised, is multiplied through the layers; the
CLS token's row of the product says how much each patch token fed the
representation the head classifies. Per model:

- ViT-GRU / ViT-Transformer (timm ViT per frame): rollout per frame from the
  ViT's blocks, read with a hook on the softmaxed attention (timm's fused
  kernel is switched off for the one forward pass, since it never forms the
  matrix);
- TimeSformer (divided space-time): rollout of the spatial attention per frame
  (the temporal attention mixes a patch with itself across frames and is left
  out, so the map is spatial per frame);
- ViViT: rollout over the joint spatio-temporal tubelet tokens.

The result is upsampled to the clip's (T, H, W), like Grad-CAM's maps.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import InputError


def supports(model: Any) -> bool:
    return _kind(model) is not None


def _kind(model: Any) -> str | None:
    if hasattr(model, "vit") and hasattr(model.vit, "blocks"):
        return "frame_vit"
    config = getattr(getattr(model, "backbone", None), "config", None)
    return getattr(config, "model_type", None) if getattr(config, "model_type", None) in ("timesformer", "vivit") \
        else None


def rollout(attentions: list[Any], prefix: int = 1) -> Any:
    """CLS-to-patch relevance (N, L - prefix) from per-layer attentions (N, heads, L, L), first layer first."""
    import torch

    product = None
    for attn in attentions:
        a = attn.float().mean(1)
        a = a + torch.eye(a.shape[-1], dtype=a.dtype)
        a = a / a.sum(-1, keepdim=True)
        product = a if product is None else a @ product
    return product[:, 0, prefix:]


def relevance(model: Any, clip: Any) -> Any:
    """Raw rollout relevance of one clip (1, 3, T, H, W) on the token grid: (T', gh, gw)."""
    import torch

    kind = _kind(model)
    if kind is None:
        raise InputError(type(model).__name__, "attention rollout needs a video transformer; this model has none")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return _frame_vit(model, clip) if kind == "frame_vit" else _hf_video(model, clip, kind)
    finally:
        model.train(was_training)


def attention_map(model: Any, batch: dict[str, Any], clip: int = 0) -> np.ndarray:
    """Relevance maps (T, H, W) in [0, 1] for one clip of ``batch``, scaled over the whole clip."""
    import torch.nn.functional as F

    x = batch["clip"][clip:clip + 1].float()  # (1, 3, T, H, W)
    t, h, w = x.shape[2:]
    maps = relevance(model, x)
    cam = F.interpolate(maps[None, None], size=(t, h, w), mode="trilinear", align_corners=False)[0, 0].numpy()
    cam = cam - cam.min()
    top = float(cam.max())
    return cam / top if top > 0 else cam


def _frame_vit(model: Any, x: Any) -> Any:
    """Per-frame rollout through the timm ViT's blocks: (T, gh, gw)."""
    vit = model.vit
    with _attention_taps(vit) as taps:
        model(x)
    gh, gw = vit.patch_embed.grid_size
    rel = rollout(taps, prefix=getattr(vit, "num_prefix_tokens", 1))  # (T, gh*gw): frames are the ViT's batch
    return rel.reshape(-1, gh, gw)


@contextlib.contextmanager
def _attention_taps(vit: Any) -> Iterator[list[Any]]:
    """Record each block's softmaxed attention (the input of its ``attn_drop``) during one forward pass."""
    taps: list[Any] = []
    attns = [blk.attn for blk in vit.blocks]
    fused = [a.fused_attn for a in attns]
    handles = [a.attn_drop.register_forward_hook(lambda _m, inputs, _out: taps.append(inputs[0].detach()))
               for a in attns]
    for a in attns:
        a.fused_attn = False
    try:
        yield taps
    finally:
        for a, f in zip(attns, fused, strict=True):
            a.fused_attn = f
        for hnd in handles:
            hnd.remove()


def _hf_video(model: Any, x: Any, kind: str) -> Any:
    """Rollout from a ``transformers`` video encoder's returned attentions: (T', gh, gw)."""
    bb = model.backbone
    before = bb.config._attn_implementation
    bb.set_attn_implementation("eager")  # the fused kernels return no attention weights
    try:
        out = bb(pixel_values=x.transpose(1, 2), output_attentions=True)
    finally:
        bb.set_attn_implementation(before)
    cfg = bb.config
    patch = cfg.patch_size if kind == "timesformer" else cfg.tubelet_size[1]
    gh = gw = cfg.image_size // patch
    rel = rollout(list(out.attentions))  # timesformer: (T, gh*gw) spatial per frame; vivit: (1, T'*gh*gw)
    return rel.reshape(-1, gh, gw)
