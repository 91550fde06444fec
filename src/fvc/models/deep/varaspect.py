"""5e: a variable-aspect-ratio 3D CNN over unpadded frames.

Frames keep their own aspect ratio (the clip cache's ``varaspect`` mode
crops the letterbox away and stores the picture top-left with its valid
extent). Batches are trimmed to their largest extent; the network is fully
convolutional, zeroes the padded region after every conv (so BatchNorm
biases never leak into it) and pools only over each sample's valid region.
A clip therefore gives the same logit whatever padding surrounds it.
"""

from __future__ import annotations

import torch
from torch import nn

from .base import BinaryHead, DeepModel


def _valid_mask(valid: torch.Tensor, h_in: int, w_in: int, hf: int, wf: int, like: torch.Tensor) -> torch.Tensor:
    """B,1,1,hf,wf mask of the feature cells that come from the valid picture."""
    vh = torch.ceil(valid[:, 0].float() * hf / h_in).clamp(1, hf)
    vw = torch.ceil(valid[:, 1].float() * wf / w_in).clamp(1, wf)
    ys = torch.arange(hf, device=like.device).view(1, hf, 1)
    xs = torch.arange(wf, device=like.device).view(1, 1, wf)
    mask = (ys < vh.view(-1, 1, 1)) & (xs < vw.view(-1, 1, 1))
    return mask.to(like.dtype)[:, None, None]


class VarAspectCNN(DeepModel):
    head_prefixes = ("head",)

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128, 256), dropout: float = 0.5):
        super().__init__()
        layers: list[nn.Module] = []
        c = 3
        for i, w in enumerate(widths):
            stride = (1, 2, 2) if i == 0 else (2, 2, 2)
            layers.append(nn.Sequential(nn.Conv3d(c, w, 3, stride, 1, bias=False), nn.BatchNorm3d(w), nn.ReLU(True)))
            layers.append(nn.Sequential(nn.Conv3d(w, w, (1, 3, 3), 1, (0, 1, 1), bias=False), nn.BatchNorm3d(w),
                                        nn.ReLU(True)))
            c = w
        self.layers = nn.ModuleList(layers)
        self.head = BinaryHead(c, dropout)

    def forward(self, clip: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        h_in, w_in = clip.shape[-2:]
        if valid is None:
            valid = torch.tensor([[h_in, w_in]], device=clip.device).expand(clip.shape[0], 2)
        f = clip
        for layer in self.layers:  # mask after every conv: the next conv must see zeros in the padding
            f = layer(f)
            mask = _valid_mask(valid, h_in, w_in, f.shape[-2], f.shape[-1], f)
            f = f * mask
        pooled = f.sum((2, 3, 4)) / (mask.sum((2, 3, 4)) * f.shape[2])
        return self.head(pooled)
