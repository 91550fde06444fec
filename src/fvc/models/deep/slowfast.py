"""5r SlowFast R50, 5s SlowFast with non-local attention, 5t multi-scale SlowFast.

Own code following Feichtenhofer et al. 2019 and PyTorchVideo's
``slowfast_r50`` (8x8: slow T=8, alpha=4, beta=1/8, fusion conv 7x1x1 with
2x fast channels, 3-4-6-3 bottlenecks, temporal 3x1x1 kernels in slow
res4/res5 and in every fast stage). The attention variant adds embedded
Gaussian non-local blocks (Wang et al. 2018) to the slow pathway after
res3 and res4. The multi-scale variant runs one shared trunk on the clip at
several (temporal stride, spatial scale) pairs and fuses the pooled
features with learned softmax weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import BinaryHead, DeepModel


class Bottleneck(nn.Module):
    def __init__(self, cin: int, inner: int, cout: int, kt: int, stride: int):
        super().__init__()
        self.a = nn.Sequential(nn.Conv3d(cin, inner, (kt, 1, 1), 1, (kt // 2, 0, 0), bias=False),
                               nn.BatchNorm3d(inner), nn.ReLU(inplace=True))
        self.b = nn.Sequential(nn.Conv3d(inner, inner, (1, 3, 3), (1, stride, stride), (0, 1, 1), bias=False),
                               nn.BatchNorm3d(inner), nn.ReLU(inplace=True))
        self.c = nn.Sequential(nn.Conv3d(inner, cout, 1, bias=False), nn.BatchNorm3d(cout))
        self.short = None
        if cin != cout or stride != 1:
            self.short = nn.Sequential(nn.Conv3d(cin, cout, 1, (1, stride, stride), bias=False), nn.BatchNorm3d(cout))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        idt = x if self.short is None else self.short(x)
        return self.relu(self.c(self.b(self.a(x))) + idt)


class NonLocal(nn.Module):
    """Embedded-Gaussian non-local block with a zero-initialised output BN (starts as identity)."""

    def __init__(self, dim: int):
        super().__init__()
        inner = dim // 2
        self.theta = nn.Conv3d(dim, inner, 1)
        self.phi = nn.Conv3d(dim, inner, 1)
        self.g = nn.Conv3d(dim, inner, 1)
        self.out = nn.Conv3d(inner, dim, 1)
        self.bn = nn.BatchNorm3d(dim)
        nn.init.zeros_(self.bn.weight)

    def forward(self, x):
        b, c, t, h, w = x.shape
        q = self.theta(x).flatten(2).transpose(1, 2)  # B, N, C'
        k = self.phi(x).flatten(2)  # B, C', N
        v = self.g(x).flatten(2).transpose(1, 2)
        attn = torch.softmax(q @ k / q.shape[-1] ** 0.5, dim=-1)
        y = (attn @ v).transpose(1, 2).reshape(b, -1, t, h, w)
        return x + self.bn(self.out(y))


class Fuse(nn.Module):
    """Lateral fast->slow connection: time-strided conv, concatenated to the slow features."""

    def __init__(self, fast_dim: int, alpha: int, kernel_t: int = 7, ratio: int = 2):
        super().__init__()
        self.conv = nn.Conv3d(fast_dim, fast_dim * ratio, (kernel_t, 1, 1), (alpha, 1, 1), (kernel_t // 2, 0, 0),
                              bias=False)
        self.bn = nn.BatchNorm3d(fast_dim * ratio)

    def forward(self, slow, fast):
        lat = F.relu(self.bn(self.conv(fast)))
        if lat.shape[2] != slow.shape[2]:  # clip lengths not a multiple of alpha
            lat = F.interpolate(lat, size=slow.shape[2:], mode="nearest")
        return torch.cat([slow, lat], 1)


class SlowFastTrunk(nn.Module):
    """Two pathways of bottleneck ResNet-``depths`` with lateral fusion after stem, res2, res3, res4."""

    def __init__(self, alpha: int = 4, beta_inv: int = 8, depths=(3, 4, 6, 3), width: int = 64,
                 fusion_kt: int = 7, nonlocal_stages: tuple[int, ...] = ()):
        super().__init__()
        self.alpha = alpha
        fw = width // beta_inv
        self.slow_stem = nn.Sequential(nn.Conv3d(3, width, (1, 7, 7), (1, 2, 2), (0, 3, 3), bias=False),
                                       nn.BatchNorm3d(width), nn.ReLU(inplace=True),
                                       nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)))
        self.fast_stem = nn.Sequential(nn.Conv3d(3, fw, (5, 7, 7), (1, 2, 2), (2, 3, 3), bias=False),
                                       nn.BatchNorm3d(fw), nn.ReLU(inplace=True),
                                       nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)))
        self.fuse = nn.ModuleList([Fuse(fw, alpha, fusion_kt)])
        slow_in, fast_in = width + 2 * fw, fw
        self.slow_stages, self.fast_stages, self.nonlocal_ = nn.ModuleList(), nn.ModuleList(), nn.ModuleDict()
        for si, n in enumerate(depths):
            s_inner, f_inner = width * 2**si, fw * 2**si
            s_out, f_out = s_inner * 4, f_inner * 4
            s_kt = 1 if si < 2 else 3
            stride = 1 if si == 0 else 2
            self.slow_stages.append(nn.Sequential(*[
                Bottleneck(slow_in if i == 0 else s_out, s_inner, s_out, s_kt, stride if i == 0 else 1)
                for i in range(n)]))
            self.fast_stages.append(nn.Sequential(*[
                Bottleneck(fast_in if i == 0 else f_out, f_inner, f_out, 3, stride if i == 0 else 1)
                for i in range(n)]))
            if si + 2 in nonlocal_stages:  # stage names res2..res5
                self.nonlocal_[str(si)] = NonLocal(s_out)
            if si < len(depths) - 1:
                self.fuse.append(Fuse(f_out, alpha, fusion_kt))
                slow_in, fast_in = s_out + 2 * f_out, f_out
        self.dim_out = s_out + f_out

    def pathways(self, clip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Slow input = every alpha-th frame of the clip; fast input = all frames."""
        return clip[:, :, :: self.alpha], clip

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        slow, fast = self.pathways(clip)
        slow, fast = self.slow_stem(slow), self.fast_stem(fast)
        slow = self.fuse[0](slow, fast)
        for si, (ss, fs) in enumerate(zip(self.slow_stages, self.fast_stages)):
            slow, fast = ss(slow), fs(fast)
            if str(si) in self.nonlocal_:
                slow = self.nonlocal_[str(si)](slow)
            if si + 1 < len(self.fuse):
                slow = self.fuse[si + 1](slow, fast)
        return torch.cat([slow.mean((2, 3, 4)), fast.mean((2, 3, 4))], 1)


class SlowFast(DeepModel):
    """5r (``nonlocal_stages=()``) and 5s (``nonlocal_stages=(3, 4)``)."""

    head_prefixes = ("head",)

    def __init__(self, alpha: int = 4, depths=(3, 4, 6, 3), width: int = 64, dropout: float = 0.5,
                 nonlocal_stages: tuple[int, ...] = (), num_classes: int | None = None):
        super().__init__()
        self.trunk = SlowFastTrunk(alpha, 8, tuple(depths), width, nonlocal_stages=tuple(nonlocal_stages))
        d = self.trunk.dim_out
        self.head = BinaryHead(d, dropout) if num_classes is None else nn.Sequential(nn.Dropout(dropout),
                                                                                   nn.Linear(d, num_classes))

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(clip))


class MultiScaleSlowFast(DeepModel):
    """5t: a shared SlowFast trunk over several (temporal stride, spatial scale) views, fused by learned weights."""

    head_prefixes = ("head", "scale_logits")

    def __init__(self, scales=((1, 1.0), (2, 0.5)), alpha: int = 4, depths=(3, 4, 6, 3), width: int = 64,
                 dropout: float = 0.5, nonlocal_stages: tuple[int, ...] = ()):
        super().__init__()
        self.scales = [(int(t), float(s)) for t, s in scales]
        self.trunk = SlowFastTrunk(alpha, 8, tuple(depths), width, nonlocal_stages=tuple(nonlocal_stages))
        self.scale_logits = nn.Parameter(torch.zeros(len(self.scales)))
        self.head = BinaryHead(self.trunk.dim_out, dropout)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        feats = []
        for t_stride, s in self.scales:
            x = clip[:, :, ::t_stride]
            if s != 1.0:
                size = [max(8, int(round(d * s))) for d in x.shape[-2:]]
                x = F.interpolate(x, size=[x.shape[2], *size], mode="trilinear", align_corners=False)
            feats.append(self.trunk(x))
        w = torch.softmax(self.scale_logits, 0)
        return self.head(sum(wi * f for wi, f in zip(w, feats)))
