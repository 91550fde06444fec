"""What every deep model shares: a binary head and the hooks the trainer uses.

``head_prefixes`` names the freshly initialised parameters (they get the
higher learning rate); ``pretrained`` says whether the rest came from
pretrained weights (else the backbone trains at the head's rate too).
``embed`` returns what the head sees (the pooled clip features), which is
what XGBoost on deep embeddings (5f-5j) reads.
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

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute activations in the backward pass; only the transformer family implements it."""
        from ...errors import InputError

        if enable:
            raise InputError("train.grad_checkpointing",
                             f"{type(self).__name__} has no gradient checkpointing (the transformers 5k-5n have)")

    @torch.no_grad()
    def embed(self, **inputs: torch.Tensor) -> torch.Tensor:
        """(B, D) pooled features: the input of ``self.head``, captured by a forward pre-hook."""
        head = getattr(self, "head", None)
        if not isinstance(head, BinaryHead):
            raise TypeError(f"{type(self).__name__} has no single BinaryHead to read embeddings from")
        seen: list[torch.Tensor] = []
        handle = head.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach()))
        try:
            self(**inputs)
        finally:
            handle.remove()
        return seen[0].flatten(1)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
