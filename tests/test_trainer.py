"""Trainer: exact resume across processes, accumulation, schedule, LR groups, early stopping, checkpoints."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

from fvc.errors import InputError
from fvc.training.checkpoints import CheckpointManager
from fvc.training.events import RecordingObserver
from fvc.training.trainer import (
    TrainConfig,
    Trainer,
    autocast_context,
    cosine_with_warmup,
    param_groups,
    seed_everything,
)


class Blobs(Dataset):
    """Separable random clips: class 1 is shifted up."""

    def __init__(self, n: int = 8, seed: int = 0, shape=(3, 4, 8, 8)):
        g = torch.Generator().manual_seed(seed)
        self.labels = np.array([i % 2 for i in range(n)], np.float32)
        self.x = torch.randn(n, *shape, generator=g) + torch.from_numpy(self.labels).view(-1, 1, 1, 1, 1)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"clip": self.x[i], "label": torch.tensor(self.labels[i]), "row": torch.tensor(i)}


class TinyNet(nn.Module):
    """Linear model with dropout; 'head' is the fresh part, the rest the 'backbone'."""

    head_prefixes = ("head",)
    pretrained = True

    def __init__(self, dropout: float = 0.3):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(1), nn.Linear(3 * 4 * 8 * 8, 16), nn.ReLU())
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(16, 1)

    def param_groups(self):
        return list(self.body.parameters()), list(self.head.parameters())

    def forward(self, clip):
        return self.head(self.drop(self.body(clip))).squeeze(-1)


RESUME_CFG = dict(epochs=2, batch_size=3, effective_batch_size=6, lr_head=1e-2, lr_backbone=1e-3,
                  warmup_fraction=0.3, seed=5)

RESUME_SCRIPT = textwrap.dedent("""
    import os, sys, torch
    sys.path.insert(0, {tests!r})
    from test_trainer import Blobs, TinyNet, RESUME_CFG
    from fvc.training.trainer import Trainer, TrainConfig, seed_everything
    from fvc.training.events import TrainObserver
    mode, ckpt, out = sys.argv[1], sys.argv[2], sys.argv[3]
    class Kill(TrainObserver):
        def on_epoch_end(self, fold, epoch, metrics):
            if mode == "kill" and epoch == 0:
                os._exit(3)  # hard kill right after the epoch-0 checkpoint
    seed_everything(1)
    model = TinyNet()
    Trainer(TrainConfig(**RESUME_CFG)).fit(model, Blobs(11), Blobs(6, seed=1), checkpoint_dir=ckpt, observer=Kill())
    torch.save(model.state_dict(), out)
""")


def test_exact_resume_after_kill_matches_straight_run(tmp_path):
    """2 epochs in one go == 1 epoch, a hard kill, and 1 epoch resumed in a new process."""
    from pathlib import Path

    script = tmp_path / "run.py"
    script.write_text(RESUME_SCRIPT.format(tests=str(Path(__file__).parent)))

    def run(*args):
        return subprocess.run([sys.executable, str(script), *map(str, args)], capture_output=True, text=True)

    seed_everything(1)
    straight = TinyNet()
    Trainer(TrainConfig(**RESUME_CFG)).fit(straight, Blobs(11), Blobs(6, seed=1), checkpoint_dir=tmp_path / "a")
    killed = run("kill", tmp_path / "b", tmp_path / "b.pt")
    assert killed.returncode == 3, killed.stderr
    assert not (tmp_path / "b.pt").exists() and (tmp_path / "b" / "epoch-0000.pt").exists()
    resumed = run("resume", tmp_path / "b", tmp_path / "b.pt")
    assert resumed.returncode == 0, resumed.stderr
    a, b = straight.state_dict(), torch.load(tmp_path / "b.pt")
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)  # bitwise equal


def test_overfits_and_emits_epoch_events(tmp_path):
    seed_everything(0)
    obs = RecordingObserver()
    cfg = TrainConfig(epochs=15, batch_size=4, lr_head=1e-2, lr_backbone=1e-2, warmup_fraction=0, patience=100)
    res = Trainer(cfg).fit(TinyNet(0.0), Blobs(8), Blobs(8), checkpoint_dir=tmp_path / "c", observer=obs, fold=2)
    assert res.history[-1]["train_accuracy"] == 1.0
    ev = [e for n, e in obs.events if n == "epoch_end"]
    assert len(ev) == 15 and ev[0]["fold"] == 2 and {"train_loss", "val_loss", "val_auc"} <= set(ev[0]["metrics"])


def test_param_groups_separate_lrs_and_no_decay_on_bias():
    cfg = TrainConfig(lr_backbone=5e-6, lr_head=5e-4, weight_decay=0.1)
    groups = {g["name"]: g for g in param_groups(TinyNet(), cfg)}
    assert groups["backbone"]["lr"] == 5e-6 and groups["head"]["lr"] == 5e-4
    assert groups["head_no_decay"]["weight_decay"] == 0.0 and groups["backbone"]["weight_decay"] == 0.1
    scratch = TinyNet()
    scratch.pretrained = False  # a backbone trained from scratch learns at the head's rate
    assert {g["lr"] for g in param_groups(scratch, cfg)} == {5e-4}


def test_cosine_warmup_shape():
    f = cosine_with_warmup(100, 10, 0.0)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(10) == pytest.approx(1.0) and f(55) == pytest.approx(0.5) and f(100) == pytest.approx(0.0)
    vals = [f(i) for i in range(10, 101)]
    assert all(a >= b for a, b in zip(vals, vals[1:]))


def test_gradient_accumulation_matches_big_batch():
    def one_step(batch, eff):
        seed_everything(0)
        model = TinyNet(0.0)
        cfg = TrainConfig(epochs=1, batch_size=batch, effective_batch_size=eff, warmup_fraction=0, grad_clip=None,
                          class_balance=False, lr_head=1e-2, lr_backbone=1e-2)
        ds = Blobs(8)
        trainer = Trainer(cfg)
        trainer.fit(model, ds)
        return model.state_dict()

    big, accum = one_step(8, None), one_step(2, 8)
    for k in big:
        torch.testing.assert_close(big[k], accum[k], rtol=1e-5, atol=1e-6)


def test_early_stopping_restores_best(tmp_path):
    seed_everything(0)
    cfg = TrainConfig(epochs=40, batch_size=4, lr_head=0.5, lr_backbone=0.5, warmup_fraction=0, patience=2,
                      grad_clip=None, weight_decay=0)
    flipped = Blobs(8, seed=1)
    flipped.labels = 1 - flipped.labels  # validation disagrees with training: val loss rises
    res = Trainer(cfg).fit(TinyNet(0.0), Blobs(8), flipped, checkpoint_dir=tmp_path / "c")
    assert res.stopped_early and len(res.history) < 40
    assert len(res.history) - 1 - res.best_epoch == 2


def test_autocast_is_off_on_cpu():
    ctx, scaler = autocast_context(torch.device("cpu"), "auto")
    assert scaler is None and not isinstance(ctx, torch.autocast)


def test_config_validation():
    with pytest.raises(InputError, match=r"train config: unknown trainer options \['momentum'\]"):
        TrainConfig.from_dict({"epochs": 1, "momentum": 0.9})
    with pytest.raises(InputError, match="train config: monitor must be val_loss or val_auc, got 'accuracy'"):
        TrainConfig.from_dict({"monitor": "accuracy"})
    assert TrainConfig(batch_size=4, effective_batch_size=16).accum_steps == 4


def test_checkpoint_manager_keeps_last_k_and_best(tmp_path):
    mgr = CheckpointManager(tmp_path, keep_last=2, mode="max")
    for epoch, auc in enumerate([0.6, 0.9, 0.7, 0.8]):
        mgr.save({"epoch": epoch, "w": torch.tensor([float(epoch)])}, epoch, auc)
    files = sorted(p.name for p in tmp_path.glob("*.pt"))
    assert files == ["best.pt", "epoch-0002.pt", "epoch-0003.pt"]
    assert CheckpointManager.load(mgr.best())["epoch"] == 1 and mgr.best_metric == 0.9
    again = CheckpointManager(tmp_path, keep_last=2, mode="max")  # manifest survives a restart
    assert again.latest().name == "epoch-0003.pt" and again.best_metric == 0.9
    with pytest.raises(InputError, match=r"nope\.pt: checkpoint not found"):
        CheckpointManager.load(tmp_path / "nope.pt")
    mgr.save({"epoch": 4, "w": torch.tensor([4.0])}, 4, 0.95)  # a new best shares the epoch file's storage
    assert os.stat(mgr.best()).st_ino == os.stat(tmp_path / "epoch-0004.pt").st_ino
    assert CheckpointManager.load(mgr.best())["epoch"] == 4
    mgr.save({"epoch": 5, "w": torch.tensor([5.0])}, 5, 0.5)
    mgr.save({"epoch": 6, "w": torch.tensor([6.0])}, 6, 0.5)  # epoch 4's name is pruned; best keeps its data
    assert sorted(p.name for p in tmp_path.glob("*.pt")) == ["best.pt", "epoch-0005.pt", "epoch-0006.pt"]
    assert CheckpointManager.load(mgr.best())["w"].item() == 4.0 and mgr.best_metric == 0.95
