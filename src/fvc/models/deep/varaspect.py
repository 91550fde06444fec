"""5e: a variable-aspect-ratio 3D CNN over unpadded frames.

Frames keep their own aspect ratio (the clip cache's ``varaspect`` mode
crops the letterbox away and stores the picture top-left with its valid
extent). Batches are trimmed to their largest extent; the network is fully
convolutional and pools only over each sample's valid region (masked
average), so padding never dilutes the features and any aspect works.
"""

from __future__ import annotations

import torch
from torch import nn

from .base import BinaryHead, DeepModel


class VarAspectCNN(DeepModel):
    head_prefixes = ("head",)

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128, 256), dropout: float = 0.5):
        super().__init__()
        layers: list[nn.Module] = []
        c = 3
        for i, w in enumerate(widths):
            stride = (1, 2, 2) if i == 0 else (2, 2, 2)
            layers += [nn.Conv3d(c, w, 3, stride, 1, bias=False), nn.BatchNorm3d(w), nn.ReLU(inplace=True),
                       nn.Conv3d(w, w, (1, 3, 3), 1, (0, 1, 1), bias=False), nn.BatchNorm3d(w), nn.ReLU(inplace=True)]
            c = w
        self.features = nn.Sequential(*layers)
        self.head = BinaryHead(c, dropout)

    def forward(self, clip: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        f = self.features(clip)
        if valid is None:
            return self.head(f.mean((2, 3, 4)))
        h_in, w_in = clip.shape[-2:]
        hf, wf = f.shape[-2:]
        vh = torch.ceil(valid[:, 0].float() * hf / h_in).clamp(1, hf)
        vw = torch.ceil(valid[:, 1].float() * wf / w_in).clamp(1, wf)
        ys = torch.arange(hf, device=f.device).view(1, hf, 1)
        xs = torch.arange(wf, device=f.device).view(1, 1, wf)
        mask = ((ys < vh.view(-1, 1, 1)) & (xs < vw.view(-1, 1, 1))).to(f.dtype)  # B,H,W
        mask = mask.unsqueeze(1).unsqueeze(1)  # B,1,1,H,W
        pooled = (f * mask).sum((2, 3, 4)) / (mask.sum((2, 3, 4)) * f.shape[2])
        return self.head(pooled)
