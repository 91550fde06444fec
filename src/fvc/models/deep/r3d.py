"""5d R3D-18 and 5p R(2+1)D-18: torchvision video ResNets with Kinetics-400 weights.

The Kinetics classifier is replaced by a dropout + binary head; the
backbone keeps the pretrained weights and trains at the lower rate.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.video import r2plus1d_18, r3d_18

from ...errors import InputError
from .base import BinaryHead, DeepModel
from .weights import resolve_weights

ARCHS = {"r3d_18": r3d_18, "r2plus1d_18": r2plus1d_18}


class TorchvisionVideoResNet(DeepModel):
    """A torchvision video ResNet trunk with a binary head."""

    head_prefixes = ("head",)

    def __init__(self, arch: str = "r3d_18", weights=None, dropout: float = 0.5):
        super().__init__()
        if arch not in ARCHS:
            raise InputError("model", f"unknown video resnet '{arch}' (known: {', '.join(ARCHS)})")
        net = ARCHS[arch](weights=None)
        state = resolve_weights(weights)
        if state is not None:
            net.load_state_dict(state)
        self.pretrained = state is not None
        dim = net.fc.in_features
        net.fc = nn.Identity()
        self.backbone = net
        self.head = BinaryHead(dim, dropout)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(clip))


def published(arch: str) -> nn.Module:
    """The architecture as published (400 Kinetics classes), for parameter-count checks."""
    return ARCHS[arch](weights=None, num_classes=400)
