"""5q X3D (Feichtenhofer 2020), own code following the paper's XS/S/M configurations.

X3D-XS, -S and -M share one network (width x2, depth x2.2, bottleneck
x2.25, 24-48-96-192 channels, 3-5-11-7 blocks, SE every other block,
swish inside blocks); they differ in input frames and crop size only.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ...errors import InputError
from .base import BinaryHead, DeepModel

# frames, crop size (X3D paper, Table 3 and PyTorchVideo model zoo)
VARIANTS = {"xs": (4, 160), "s": (13, 160), "m": (16, 224)}


def round_width(width: float, multiplier: float, divisor: int = 8) -> int:
    width *= multiplier
    out = max(divisor, int(width + divisor / 2) // divisor * divisor)
    return int(out + divisor) if out < 0.9 * width else int(out)


class SE(nn.Module):
    def __init__(self, channels: int, reduced: int):
        super().__init__()
        self.fc1 = nn.Conv3d(channels, reduced, 1)
        self.fc2 = nn.Conv3d(reduced, channels, 1)

    def forward(self, x):
        s = x.mean((2, 3, 4), keepdim=True)
        return x * torch.sigmoid(self.fc2(torch.relu(self.fc1(s))))


class X3DBlock(nn.Module):
    """1x1x1 expand -> 3x3x3 depthwise (+SE) -> swish -> 1x1x1 project, residual."""

    def __init__(self, cin: int, inner: int, cout: int, stride: int, se_ratio: float):
        super().__init__()
        self.a = nn.Sequential(nn.Conv3d(cin, inner, 1, bias=False), nn.BatchNorm3d(inner), nn.ReLU(inplace=True))
        self.b = nn.Sequential(
            nn.Conv3d(inner, inner, 3, (1, stride, stride), 1, groups=inner, bias=False), nn.BatchNorm3d(inner)
        )
        self.se = SE(inner, round_width(inner, se_ratio)) if se_ratio > 0 else nn.Identity()
        self.act = nn.SiLU(inplace=True)
        self.c = nn.Sequential(nn.Conv3d(inner, cout, 1, bias=False), nn.BatchNorm3d(cout))
        self.short = None
        if cin != cout or stride != 1:
            self.short = nn.Sequential(nn.Conv3d(cin, cout, 1, (1, stride, stride), bias=False), nn.BatchNorm3d(cout))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        idt = x if self.short is None else self.short(x)
        return self.relu(self.c(self.act(self.se(self.b(self.a(x))))) + idt)


class X3DTrunk(nn.Module):
    def __init__(self, width_factor: float = 2.0, depth_factor: float = 2.2, bottleneck: float = 2.25,
                 se_ratio: float = 0.0625, stem_dim: int = 12, head_inner_factor: float = 2.25):
        super().__init__()
        stem_out = round_width(stem_dim, width_factor)
        self.stem = nn.Sequential(
            nn.Conv3d(3, stem_out, (1, 3, 3), (1, 2, 2), (0, 1, 1), bias=False),
            nn.Conv3d(stem_out, stem_out, (5, 1, 1), 1, (2, 0, 0), groups=stem_out, bias=False),
            nn.BatchNorm3d(stem_out),
            nn.ReLU(inplace=True),
        )
        dims = [stem_dim]
        for _ in range(3):
            dims.append(round_width(dims[-1], 2.0))
        stages, cin = [], stem_out
        for base, depth in zip(dims, (1, 2, 5, 3)):
            cout = round_width(base, width_factor)
            inner = int(bottleneck * cout)
            n = int(math.ceil(depth_factor * depth))
            blocks = [X3DBlock(cin if i == 0 else cout, inner, cout, 2 if i == 0 else 1,
                               se_ratio if (i + 1) % 2 else 0.0) for i in range(n)]
            stages.append(nn.Sequential(*blocks))
            cin = cout
        self.stages = nn.Sequential(*stages)
        inner = int(head_inner_factor * cin)
        self.conv5 = nn.Sequential(nn.Conv3d(cin, inner, 1, bias=False), nn.BatchNorm3d(inner), nn.ReLU(inplace=True))
        self.dim_out = inner

    def forward(self, x):
        return self.conv5(self.stages(self.stem(x)))


class X3D(DeepModel):
    """X3D trunk, global pooling, 2048-d 1x1 'fc' layer (paper's head), binary head."""

    head_prefixes = ("head",)

    def __init__(self, variant: str = "s", dropout: float = 0.5, head_dim: int = 2048, num_classes: int | None = None):
        super().__init__()
        if variant not in VARIANTS:
            raise InputError("model", f"unknown X3D variant '{variant}' (known: {', '.join(VARIANTS)})")
        self.variant = variant
        self.trunk = X3DTrunk()
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.lin5 = nn.Sequential(nn.Conv3d(self.trunk.dim_out, head_dim, 1, bias=False), nn.ReLU(inplace=True))
        if num_classes is None:
            self.head = BinaryHead(head_dim, dropout)
        else:  # published classifier, for parameter-count checks
            self.head = nn.Sequential(nn.Flatten(1), nn.Dropout(dropout), nn.Linear(head_dim, num_classes))

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        return self.head(self.lin5(self.pool(self.trunk(clip))).flatten(1))
