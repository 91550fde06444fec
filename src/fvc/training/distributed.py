"""Data parallel training with ``torch.distributed``: who this process is, and the collectives the trainer needs.

A run is distributed when a process group is already initialised (Ray Train's
TorchTrainer sets one up in each worker before our code runs) or when
``torchrun`` set ``WORLD_SIZE`` > 1, in which case the group is initialised
here (``nccl`` on CUDA, ``gloo`` on CPU), once, and :func:`leave` destroys
it again; a group someone else set up is joined as it is and left to its
owner. Every rank runs the same loop; rank 0 alone writes checkpoints,
results and tracking.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

from ..errors import InputError

TORCHRUN_HELP = "launch with torchrun, e.g. 'torchrun --nproc-per-node 2 -m fvc.cli train ... --ddp'"


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


_OWNED = False  # the process group was initialised here (from torchrun's environment), not by Ray Train


def env_world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def group_ready() -> bool:
    """A process group is set up in this process (by us, or by Ray Train / a caller)."""
    return dist.is_available() and dist.is_initialized()


def leave() -> None:
    """Destroy the process group if this module initialised it (a Ray Train group belongs to Ray)."""
    global _OWNED
    if _OWNED and group_ready():
        dist.destroy_process_group()
    _OWNED = False


def current(device_type: str = "cpu", required: bool = False) -> Dist:
    """This process's place in the run, initialising the group from torchrun's environment when needed."""
    global _OWNED
    if group_ready():
        return Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    if env_world_size() > 1:
        if not dist.is_available():
            raise InputError("--ddp", "this torch build has no torch.distributed")
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo")
        _OWNED = True
        return Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    if required:
        raise InputError("--ddp", f"needs several processes (WORLD_SIZE is {env_world_size()}); {TORCHRUN_HELP}")
    return Dist()


def is_main_process() -> bool:
    """True outside distributed runs and on rank 0: the one process that writes files and tracking."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return int(os.environ.get("RANK", "0") or 0) == 0


def sync_processes() -> None:
    """Wait for every rank (nothing to wait for outside a process group)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def barrier(d: Dist) -> None:
    if d.enabled:
        dist.barrier()


def all_sum(values: list[float], d: Dist, device: torch.device) -> list[float]:
    """Element-wise sum over ranks (float64)."""
    if not d.enabled:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def gather_interleaved(arrays: tuple[np.ndarray, ...], n: int, d: Dist) -> tuple[np.ndarray, ...]:
    """Undo ``DistributedSampler(shuffle=False)``: rank r held positions r, r+w, ...; padding is dropped."""
    if not d.enabled:
        return arrays
    parts: list = [None] * d.world
    dist.all_gather_object(parts, arrays)
    out = []
    for k in range(len(arrays)):
        per_rank = [p[k] for p in parts]
        m = len(per_rank[0])
        whole = np.empty((m * d.world, *per_rank[0].shape[1:]), per_rank[0].dtype)
        for r, a in enumerate(per_rank):
            whole[r::d.world] = a
        out.append(whole[:n])
    return tuple(out)
