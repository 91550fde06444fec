"""5u: two-stream network, RGB clip plus Farneback optical flow, late fusion.

Flow is computed once per sampled frame (with its successor) when the clip
cache is built and stored as uint8; the dataset hands it over as a 2-channel
clip in [-1, 1]. Each stream is a full video network with its own logit;
late fusion is a learned convex weight between the two logits. With
pretrained RGB weights the flow stream's first conv is initialised by
averaging the RGB kernels over colour (cross-modality init, TSN).
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.video import r3d_18

from .base import BinaryHead, DeepModel
from .simple3d import Simple3DCNN
from .weights import resolve_weights


def _r3d_stream(state: dict | None, in_channels: int) -> nn.Module:
    net = r3d_18(weights=None)
    if state is not None:
        net.load_state_dict(state)
    if in_channels != 3:
        old = net.stem[0]
        new = nn.Conv3d(in_channels, old.out_channels, old.kernel_size, old.stride, old.padding, bias=False)
        with torch.no_grad():
            new.weight.copy_(old.weight.mean(1, keepdim=True).repeat(1, in_channels, 1, 1, 1))
        net.stem[0] = new
    net.fc = nn.Identity()
    return net


class TwoStream(DeepModel):
    head_prefixes = ("rgb_head", "flow_head", "fusion")

    def __init__(self, backbone: str = "r3d_18", weights=None, dropout: float = 0.5,
                 widths: tuple[int, ...] = (16, 32, 64)):
        super().__init__()
        if backbone == "r3d_18":
            state = resolve_weights(weights)
            self.pretrained = state is not None
            self.rgb = _r3d_stream(state, 3)
            self.flow = _r3d_stream(state, 2)
            dim = 512
        else:  # small from-scratch streams for smoke runs
            self.rgb = Simple3DCNN(widths, in_channels=3)
            self.flow = Simple3DCNN(widths, in_channels=2)
            for s in (self.rgb, self.flow):
                s.head = nn.Identity()
            dim = widths[-1]
        self.rgb_head = BinaryHead(dim, dropout)
        self.flow_head = BinaryHead(dim, dropout)
        self.fusion = nn.Parameter(torch.zeros(()))

    def _feat(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        if isinstance(net, Simple3DCNN):
            return net.pool(net.features(x)).flatten(1)
        return net(x)

    def forward(self, clip: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        w = torch.sigmoid(self.fusion)
        return w * self.rgb_head(self._feat(self.rgb, clip)) + (1 - w) * self.flow_head(self._feat(self.flow, flow))
