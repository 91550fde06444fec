"""5c: a naive 3D CNN baseline (conv-BN-ReLU-pool blocks, global pooling)."""

from __future__ import annotations

import torch
from torch import nn

from .base import BinaryHead, DeepModel


class Simple3DCNN(DeepModel):
    """Plain stack of 3x3x3 convolutions; the floor every other deep model must beat."""

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128, 256), dropout: float = 0.5, in_channels: int = 3):
        super().__init__()
        layers: list[nn.Module] = []
        c = in_channels
        for i, w in enumerate(widths):
            layers += [
                nn.Conv3d(c, w, 3, padding=1, bias=False),
                nn.BatchNorm3d(w),
                nn.ReLU(inplace=True),
                # keep early temporal resolution: pool time only after the first block
                nn.MaxPool3d((1, 2, 2) if i == 0 else 2, ceil_mode=True),
            ]
            c = w
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.head = BinaryHead(c, dropout)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.features(clip)).flatten(1))
