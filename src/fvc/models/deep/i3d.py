"""5o I3D: a 2D ImageNet ResNet inflated to 3D (Carreira & Zisserman 2017).

The 3D network mirrors torchvision's ResNet parameter names exactly, so a
2D state dict maps key for key: each k x k kernel becomes t x k x k with
the 2D weights repeated over time and divided by t. On a clip of identical
frames the inflated network then computes what the 2D network computes per
frame — the property the inflation test checks. Temporal kernels follow
the Non-local paper's I3D-ResNet: 5x7x7 stem, 3x1x1 in every other block.
"""

from __future__ import annotations

import torch
from torch import nn

from ...errors import InputError
from .base import BinaryHead, DeepModel
from .weights import resolve_weights

DEPTHS = {"resnet18": ("basic", (2, 2, 2, 2)), "resnet50": ("bottleneck", (3, 4, 6, 3))}


class Basic3d(nn.Module):
    expansion = 1

    def __init__(self, cin: int, width: int, stride: int, kt: int, downsample: nn.Module | None):
        super().__init__()
        self.conv1 = nn.Conv3d(cin, width, (kt, 3, 3), (1, stride, stride), (kt // 2, 1, 1), bias=False)
        self.bn1 = nn.BatchNorm3d(width)
        self.conv2 = nn.Conv3d(width, width, (1, 3, 3), 1, (0, 1, 1), bias=False)
        self.bn2 = nn.BatchNorm3d(width)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + idt)


class Bottleneck3d(nn.Module):
    expansion = 4

    def __init__(self, cin: int, width: int, stride: int, kt: int, downsample: nn.Module | None):
        super().__init__()
        self.conv1 = nn.Conv3d(cin, width, (kt, 1, 1), 1, (kt // 2, 0, 0), bias=False)
        self.bn1 = nn.BatchNorm3d(width)
        self.conv2 = nn.Conv3d(width, width, (1, 3, 3), (1, stride, stride), (0, 1, 1), bias=False)
        self.bn2 = nn.BatchNorm3d(width)
        self.conv3 = nn.Conv3d(width, width * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm3d(width * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + idt)


class ResNet3d(nn.Module):
    """Inflated ResNet trunk with torchvision's parameter names (fc omitted)."""

    def __init__(self, depth: str = "resnet50", stem_t: int = 5, temporal_pool: bool = True):
        super().__init__()
        if depth not in DEPTHS:
            raise InputError("model", f"unknown I3D backbone '{depth}' (known: {', '.join(DEPTHS)})")
        kind, layers = DEPTHS[depth]
        block = Basic3d if kind == "basic" else Bottleneck3d
        self.conv1 = nn.Conv3d(3, 64, (stem_t, 7, 7), (1, 2, 2), (stem_t // 2, 3, 3), bias=False)
        self.bn1 = nn.BatchNorm3d(64)
        self.relu = nn.ReLU(inplace=True)
        t = 3 if temporal_pool else 1
        self.maxpool = nn.MaxPool3d((t, 3, 3), (2 if temporal_pool else 1, 2, 2), (t // 2, 1, 1))
        cin = 64
        for li, (n, width) in enumerate(zip(layers, (64, 128, 256, 512))):
            blocks = []
            for bi in range(n):
                stride = 2 if (bi == 0 and li > 0) else 1
                kt = 3 if (li == 0 or bi % 2 == 0) else 1
                down = None
                if stride != 1 or cin != width * block.expansion:
                    down = nn.Sequential(
                        nn.Conv3d(cin, width * block.expansion, 1, (1, stride, stride), bias=False),
                        nn.BatchNorm3d(width * block.expansion),
                    )
                blocks.append(block(cin, width, stride, kt, down))
                cin = width * block.expansion
            setattr(self, f"layer{li + 1}", nn.Sequential(*blocks))
        self.dim_out = cin

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


def inflate_state_dict(state2d: dict[str, torch.Tensor], target: nn.Module) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Map a 2D ResNet state dict onto ``target``; return (state, target keys left unfilled).

    Conv kernels (O,I,kh,kw) become (O,I,t,kh,kw) = repeat over t / t; other
    tensors (BN weights, running stats) are copied. The 2D fc is dropped.
    """
    out: dict[str, torch.Tensor] = {}
    tgt = target.state_dict()
    for key, ref in tgt.items():
        src = state2d.get(key)
        if src is None:
            continue
        if src.dim() == 4 and ref.dim() == 5:
            t = ref.shape[2]
            src = src.unsqueeze(2).repeat(1, 1, t, 1, 1) / t
        if src.shape != ref.shape:
            raise InputError("2D weights", f"shape mismatch at '{key}': {tuple(src.shape)} vs {tuple(ref.shape)}")
        out[key] = src.to(ref.dtype)
    missing = [k for k in tgt if k not in out and not k.endswith("num_batches_tracked")]
    return out, missing


class I3D(DeepModel):
    head_prefixes = ("head",)

    def __init__(self, depth: str = "resnet50", weights=None, dropout: float = 0.5,
                 temporal_pool: bool = True):
        super().__init__()
        self.backbone = ResNet3d(depth, temporal_pool=temporal_pool)
        state2d = resolve_weights(weights)
        if state2d is not None:
            state, missing = inflate_state_dict(state2d, self.backbone)
            if missing:
                raise InputError("2D weights", f"{len(missing)} backbone tensors missing, e.g. '{missing[0]}'")
            self.backbone.load_state_dict(state, strict=False)
        self.pretrained = state2d is not None
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.head = BinaryHead(self.backbone.dim_out, dropout)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.backbone(clip)).flatten(1))
