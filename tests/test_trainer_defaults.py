"""Trainer defaults per device: determinism, cudnn.benchmark, workers, memory format, torch.compile wiring."""

from __future__ import annotations

import torch
from test_trainer import Blobs, TinyNet

from fvc.models import create_model
from fvc.training.device import (
    default_deterministic,
    default_workers,
    is_conv3d,
    uses_channels_last,
)
from fvc.training.events import TrainObserver
from fvc.training.loader import worker_init
from fvc.training.trainer import TrainConfig, Trainer


class Flags(TrainObserver):
    """What the backend flags were while the trainer ran."""

    def on_epoch_end(self, fold, epoch, metrics):
        self.seen = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark)


def _fit(**cfg):
    obs = Flags()
    Trainer(TrainConfig(epochs=1, batch_size=4, **cfg)).fit(TinyNet(0.0), Blobs(8), observer=obs)
    return obs.seen


def test_cpu_is_deterministic_by_default_and_flags_are_restored():
    before = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark)
    assert Trainer(TrainConfig()).deterministic is True and default_deterministic(torch.device("cpu"))
    assert default_deterministic(torch.device("cuda", 0)) is False  # CUDA: fast kernels unless asked
    assert _fit() == (True, False)
    assert _fit(deterministic=False) == (False, True)  # cudnn.benchmark whenever determinism is off
    assert (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark) == before


def test_workers_default_to_the_free_cores_on_cuda_only(monkeypatch):
    import os

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)))
    assert default_workers(torch.device("cuda", 0)) == 15 and default_workers(torch.device("cpu")) == 0
    assert Trainer(TrainConfig()).workers == 0 and Trainer(TrainConfig(num_workers=3)).workers == 3


def test_worker_runs_one_torch_thread():
    n = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        worker_init(0)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(n)


def test_channels_last_for_3d_convolutions_on_cuda_only():
    cnn, vit = create_model("5c", preset="smoke"), create_model("5k", preset="smoke")
    assert is_conv3d(cnn) and not is_conv3d(vit)
    assert uses_channels_last(cnn, torch.device("cuda", 0)) and not uses_channels_last(cnn, torch.device("cpu"))
    assert not uses_channels_last(vit, torch.device("cuda", 0))


def test_compile_option_compiles_the_training_forward(monkeypatch):
    compiled = []

    def spy(module, *a, **k):
        compiled.append(module)
        return module

    monkeypatch.setattr(torch, "compile", spy)
    _fit()
    assert compiled == []
    _fit(compile=True)
    assert len(compiled) == 1 and isinstance(compiled[0], TinyNet)
