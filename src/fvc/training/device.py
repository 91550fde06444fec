"""Which device a run trains on, and the fast defaults that go with it.

``auto`` takes CUDA when torch sees a GPU and says so; a device that is not
there is an error that says how to get it, never a quiet fall back to CPU.
"""

from __future__ import annotations

import os
import re

import torch
from torch import nn

from ..errors import InputError

CUDA_HELP = "install a CUDA build of torch (https://pytorch.org/get-started/locally/) or use --device cpu"


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """``auto|cpu|cuda|cuda:N`` -> a torch device that exists here (``cuda`` under torchrun = the local rank's GPU)."""
    if isinstance(spec, torch.device):
        spec = str(spec)
    s = (spec or "auto").strip().lower()
    if s == "auto":
        s = "cuda" if torch.cuda.is_available() else "cpu"
    if s == "cpu":
        return torch.device("cpu")
    m = re.fullmatch(r"cuda(?::(\d+))?", s)
    if m is None:
        raise InputError("--device", f"must be auto, cpu, cuda or cuda:N, got '{spec}'")
    if not torch.cuda.is_available():
        raise InputError("--device", f"'{s}' asked for but torch sees no CUDA GPU; {CUDA_HELP}")
    n = torch.cuda.device_count()
    if m.group(1) is None:
        idx = int(os.environ.get("LOCAL_RANK", "0"))
    else:
        idx = int(m.group(1))
    if idx >= n:
        raise InputError("--device", f"'{s}' asked for but torch sees {n} CUDA GPU(s) (cuda:0..cuda:{n - 1})")
    return torch.device("cuda", idx)


def default_workers(device: torch.device) -> int:
    """Loader workers when none are asked for: the cores this process may use minus the main one on CUDA;
    none on CPU, where the model needs the cores and uint8 items make the main process fast enough."""
    if device.type != "cuda":
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(0, cores - 1)


def default_deterministic(device: torch.device) -> bool:
    """Bit-exact runs by default on CPU (they cost nothing there); on CUDA they cost cudnn.benchmark and
    the fast non-deterministic kernels, so ``deterministic: true`` (``--deterministic``) is asked for."""
    return device.type != "cuda"


def is_conv3d(model: nn.Module) -> bool:
    """3D convolutional models gain from ``channels_last_3d`` on CUDA."""
    return any(isinstance(m, nn.Conv3d) for m in model.modules())


def uses_channels_last(model: nn.Module, device: torch.device) -> bool:
    return device.type == "cuda" and is_conv3d(model)
