"""Trainer settings, kept free of torch so the model catalog can check preset keys without importing it."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from ..errors import InputError


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 8
    effective_batch_size: int | None = None  # gradient accumulation up to this many clips per step
    lr_backbone: float = 5e-5  # used only when the backbone is pretrained; else lr_head
    lr_head: float = 5e-4
    weight_decay: float = 0.05
    warmup_fraction: float = 0.1  # share of all optimizer steps spent warming up
    min_lr_factor: float = 0.01
    grad_clip: float | None = 1.0
    amp: str = "auto"  # auto | bf16 | fp16 | off (autocast only ever runs on CUDA)
    monitor: str = "val_loss"  # val_loss | val_auc
    patience: int = 3
    seed: int = 42
    num_workers: int | None = None  # loader workers; None = cores - 1 on CUDA, 0 on CPU
    deterministic: bool | None = None  # bit-exact kernels; None = true on CPU, false on CUDA (cudnn.benchmark)
    keep_last: int = 2
    class_balance: bool = True  # pos_weight = n_neg / n_pos
    max_batches_per_epoch: int | None = None
    # torch intra-op threads during fit; 1 is fastest for tiny smoke tensors on busy CPUs. None keeps the
    # process's count, which CPU training results depend on (backward sums split over threads): a Ray task
    # has one thread, a local run all cores, so pin it where folds must match across executors.
    num_threads: int | None = None
    grad_checkpointing: bool = False  # recompute activations in backward: less memory, more time (transformers)
    compile: bool = False  # torch.compile the training forward/backward (pays a compile on the first batches)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise InputError("train config", f"unknown trainer options {sorted(unknown)}")
        cfg = cls(**d)
        if cfg.monitor not in ("val_loss", "val_auc"):
            raise InputError("train config", f"monitor must be val_loss or val_auc, got '{cfg.monitor}'")
        if cfg.amp not in ("auto", "bf16", "fp16", "off"):
            raise InputError("train config", f"amp must be auto/bf16/fp16/off, got '{cfg.amp}'")
        return cfg

    @property
    def accum_steps(self) -> int:
        return self.accum_steps_for(1)

    def accum_steps_for(self, world: int) -> int:
        """Micro-batches per optimizer step; ``effective_batch_size`` counts clips over all data-parallel ranks."""
        if not self.effective_batch_size:
            return 1
        return max(1, self.effective_batch_size // (self.batch_size * world))
