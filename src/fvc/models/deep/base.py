"""What every deep model shares: a binary head and the hooks the trainer uses.

``head_prefixes`` names the freshly initialised parameters (they get the
higher learning rate); ``pretrained`` says whether the rest came from
pretrained weights (else the backbone trains at the head's rate too).
"""

from __future__ import annotations

import torch
from torch import nn


class BinaryHead(nn.Module):
    """Dropout then a linear layer to one fake-vs-real logit."""

    def __init__(self, dim_in: int, dropout: float = 0.5):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(dim_in, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.dropout(x)).squeeze(-1)


class DeepModel(nn.Module):
    """Base class: ``forward(clip, **extra) -> logits (B,)``."""

    head_prefixes: tuple[str, ...] = ("head",)
    pretrained: bool = False

    def param_groups(self) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
        """(backbone, head) trainable parameters."""
        backbone, head = [], []
        for name, p in self.named_parameters():
            if not p.requires_grad:
                continue
            (head if name.startswith(self.head_prefixes) else backbone).append(p)
        return backbone, head


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
