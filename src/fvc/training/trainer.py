"""One training loop for every torch model, with exact resume, on one device or data parallel.

AdamW with separate learning rates for a pretrained backbone and the new
head, cosine schedule with linear warm-up, gradient clipping and
accumulation, autocast on CUDA only, early stopping with patience, and a
checkpoint every epoch holding everything needed to continue bit for bit:
model, optimizer, scheduler, grad scaler, and the python / numpy / torch /
data-loader / augmentation RNG states.

Clips reach the device as uint8 and become model inputs there
(:mod:`.transforms`); on CUDA the trainer runs bf16 autocast,
``channels_last_3d`` for 3D convolutions and ``cudnn.benchmark`` unless the
run asks to be deterministic. Under ``torchrun`` (or an initialised process
group, e.g. Ray Train) the same loop runs DDP with a ``DistributedSampler``;
rank 0 alone writes checkpoints and reports epochs.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Dataset

from ..errors import InputError
from . import distributed
from .checkpoints import CheckpointManager
from .device import (
    default_deterministic,
    default_workers,
    resolve_device,
    uses_channels_last,
)
from .events import TrainObserver
from .loader import DeviceBatches, make_loader
from .train_config import TrainConfig
from .transforms import LABEL_KEYS


@dataclass
class FitResult:
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None
    best_metric: float | None = None
    stopped_early: bool = False
    checkpoint_dir: Path | None = None


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def cosine_with_warmup(total_steps: int, warmup_steps: int, min_factor: float) -> Callable[[int], float]:
    def f(step: int) -> float:
        if warmup_steps and step < warmup_steps:
            return (step + 1) / warmup_steps
        span = max(1, total_steps - warmup_steps)
        progress = min(1.0, (step - warmup_steps) / span)
        return min_factor + (1 - min_factor) * 0.5 * (1 + math.cos(math.pi * progress))

    return f


def param_groups(model: nn.Module, cfg: TrainConfig) -> list[dict[str, Any]]:
    """Backbone/head x decay/no-decay groups; biases and norm weights get no weight decay."""
    if hasattr(model, "param_groups"):
        backbone, head = model.param_groups()
    else:
        backbone, head = [], [p for p in model.parameters() if p.requires_grad]
    lr_bb = cfg.lr_backbone if getattr(model, "pretrained", False) else cfg.lr_head
    groups = []
    for params, lr, name in ((backbone, lr_bb, "backbone"), (head, cfg.lr_head, "head")):
        decay = [p for p in params if p.ndim > 1]
        no_decay = [p for p in params if p.ndim <= 1]
        if decay:
            groups.append({"params": decay, "lr": lr, "weight_decay": cfg.weight_decay, "name": f"{name}"})
        if no_decay:
            groups.append({"params": no_decay, "lr": lr, "weight_decay": 0.0, "name": f"{name}_no_decay"})
    return groups


def autocast_context(device: torch.device, amp: str):
    """bf16/fp16 autocast on CUDA; always off on CPU (slow and lossy there)."""
    if device.type != "cuda" or amp == "off":
        return contextlib.nullcontext(), None
    if amp == "bf16" or (amp == "auto" and torch.cuda.is_bf16_supported()):
        return torch.autocast("cuda", dtype=torch.bfloat16), None
    return torch.autocast("cuda", dtype=torch.float16), torch.amp.GradScaler("cuda")


def model_inputs(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """The model's keyword inputs of a batch (a no-op move for batches a DeviceBatches already placed)."""
    return {k: v.to(device) for k, v in batch.items() if k not in LABEL_KEYS}


@torch.no_grad()
def predict_logits(model: nn.Module, loader, device: torch.device) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(logits, labels, cache rows) over a loader, in loader order."""
    model.eval()
    logits, labels, rows = [], [], []
    for batch in loader:
        logits.append(model(**model_inputs(batch, device)).float().cpu())
        labels.append(batch["label"])
        rows.append(batch["row"])
    if not logits:
        return np.zeros(0), np.zeros(0), np.zeros(0, np.int64)
    return torch.cat(logits).numpy(), torch.cat(labels).numpy(), torch.cat(rows).numpy()


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    ok = y >= 0
    y, p = y[ok], p[ok]
    return float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")


class Trainer:
    """Fits one model on one training set; optional validation set for early stopping.

    ``device`` is ``auto|cpu|cuda|cuda:N`` (or a torch device); an absent GPU is an error, not a fallback.
    """

    def __init__(self, cfg: TrainConfig, device: str | torch.device = "cpu"):
        self.cfg = cfg
        self.device = resolve_device(device)  # plain 'cuda' under torchrun = the GPU of LOCAL_RANK
        self.dist = distributed.current(self.device.type)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        self.workers = cfg.num_workers if cfg.num_workers is not None else default_workers(self.device)
        self.deterministic = cfg.deterministic if cfg.deterministic is not None else default_deterministic(self.device)

    def loader(self, ds: Dataset, train: bool, generator: torch.Generator | None = None,
               augment: torch.Generator | None = None, channels_last: bool = False) -> DeviceBatches:
        """Batches of ``ds`` with model inputs on the device; ``augment`` draws train-time augmentation."""
        dl = make_loader(ds, self.cfg.batch_size, train, self.cfg.seed, self.workers, self.device, self.dist,
                         generator)
        return DeviceBatches(dl, self.device, getattr(ds, "transform", None), train and getattr(ds, "train", True),
                             augment, self.dist, channels_last)

    def predict(self, model: nn.Module, ds: Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(logits, labels, rows) of every item of ``ds`` in order; ranks share the work, every rank gets all."""
        return self._predict(model, self.loader(ds, False, channels_last=uses_channels_last(model, self.device)),
                             len(ds))

    def _predict(self, model: nn.Module, batches: DeviceBatches, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return distributed.gather_interleaved(predict_logits(model, batches, self.device), n, self.dist)

    def fit(
        self,
        model: nn.Module,
        train_ds: Dataset,
        val_ds: Dataset | None = None,
        checkpoint_dir: str | Path | None = None,
        observer: TrainObserver | None = None,
        fold: int = -1,
        resume: bool = True,
    ) -> FitResult:
        cfg = self.cfg
        cudnn = torch.backends.cudnn
        prev = (torch.are_deterministic_algorithms_enabled(), torch.get_num_threads(), cudnn.benchmark,
                cudnn.deterministic)
        if self.deterministic and self.device.type == "cuda":
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS
        torch.use_deterministic_algorithms(self.deterministic, warn_only=True)
        cudnn.benchmark, cudnn.deterministic = not self.deterministic, self.deterministic
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        try:
            return self._fit(model, train_ds, val_ds, checkpoint_dir, observer, fold, resume)
        finally:
            torch.use_deterministic_algorithms(prev[0])
            torch.set_num_threads(prev[1])
            cudnn.benchmark, cudnn.deterministic = prev[2], prev[3]

    def _fit(self, model, train_ds, val_ds, checkpoint_dir, observer, fold, resume) -> FitResult:
        cfg, d = self.cfg, self.dist
        model.to(self.device)
        channels_last = uses_channels_last(model, self.device)
        if channels_last:
            model.to(memory_format=torch.channels_last_3d)
        if cfg.grad_checkpointing:
            enable = getattr(model, "set_grad_checkpointing", None)
            if enable is None:
                raise InputError("train.grad_checkpointing", f"{type(model).__name__} has no gradient checkpointing")
            enable(True)  # the model says which of its parts recompute (timm blocks, transformers layers)
        gen = torch.Generator().manual_seed(cfg.seed)  # loader worker seeds
        aug = torch.Generator().manual_seed(cfg.seed + 1)  # augmentation draws, three per clip
        train_loader = self.loader(train_ds, True, gen, aug, channels_last)
        has_val = val_ds is not None and len(val_ds) > 0
        val_loader = self.loader(val_ds, False, channels_last=channels_last) if has_val else None  # workers persist
        n_batches = len(train_loader)
        if cfg.max_batches_per_epoch:
            n_batches = min(n_batches, cfg.max_batches_per_epoch)
        steps_per_epoch = math.ceil(n_batches / cfg.accum_steps_for(d.world))
        total = max(1, steps_per_epoch * cfg.epochs)
        opt = torch.optim.AdamW(param_groups(model, cfg))
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, cosine_with_warmup(total, int(round(cfg.warmup_fraction * total)), cfg.min_lr_factor)
        )
        amp_ctx, scaler = autocast_context(self.device, cfg.amp)
        pos_weight = None
        labels = getattr(train_ds, "labels", None)
        if cfg.class_balance and labels is not None:
            n_pos, n_neg = float((labels == 1).sum()), float((labels == 0).sum())
            if n_pos and n_neg:
                pos_weight = torch.tensor(n_neg / n_pos, device=self.device)
        loss_fn = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
        mode = "max" if cfg.monitor == "val_auc" else "min"
        ckpt = CheckpointManager(checkpoint_dir, cfg.keep_last, mode) if checkpoint_dir else None
        res = FitResult(checkpoint_dir=Path(checkpoint_dir) if checkpoint_dir else None)
        start, bad_epochs = 0, 0
        if ckpt is not None and resume and ckpt.latest() is not None:
            state = ckpt.load(ckpt.latest())
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["scheduler"])
            if scaler is not None and state.get("scaler"):
                scaler.load_state_dict(state["scaler"])
            self._set_rng(state["rng"], gen, aug)
            start, bad_epochs = state["epoch"] + 1, state["bad_epochs"]
            res.history, res.best_epoch, res.best_metric = state["history"], state["best_epoch"], state["best_metric"]
            if state.get("stopped"):
                res.stopped_early = True
                start = cfg.epochs
        else:
            seed_everything(cfg.seed)  # dropout draws start from the run's seed
        ddp = (DistributedDataParallel(model, device_ids=[self.device.index] if self.device.type == "cuda" else None)
               if d.enabled else None)
        net = ddp if ddp is not None else model
        if cfg.compile:
            net = torch.compile(net)
        for epoch in range(start, cfg.epochs):
            train_loader.sampler.set_epoch(epoch)
            metrics = self._train_epoch(net, ddp, model, train_loader, n_batches, opt, sched, scaler, amp_ctx,
                                        loss_fn)
            metrics["lr_head"] = opt.param_groups[-1]["lr"]
            if has_val:
                logits, y, _ = self._predict(model, val_loader, len(val_ds))
                ok = y >= 0
                metrics["val_loss"] = float(nn.functional.binary_cross_entropy_with_logits(
                    torch.from_numpy(logits[ok]), torch.from_numpy(y[ok])).item()) if ok.any() else float("nan")
                metrics["val_auc"] = _auc(y, logits)
                metrics["val_accuracy"] = float(((logits > 0) == (y == 1))[ok].mean()) if ok.any() else float("nan")
            monitored = metrics.get(cfg.monitor, metrics["train_loss"] if mode == "min" else float("nan"))
            improved = self._improved(monitored, res.best_metric, mode)
            if improved:
                res.best_epoch, res.best_metric, bad_epochs = epoch, monitored, 0
            else:
                bad_epochs += 1
            metrics["epoch"] = epoch
            res.history.append(metrics)
            stop = has_val and bad_epochs >= cfg.patience
            if ckpt is not None and d.is_main:
                ckpt.save(self._state(model, opt, sched, scaler, gen, aug, epoch, bad_epochs, res, stop), epoch,
                          monitored if math.isfinite(monitored) else None)
            distributed.barrier(d)  # no rank runs ahead of the checkpoint it would resume from
            if observer is not None and d.is_main:
                observer.on_epoch_end(fold, epoch, metrics)
            if stop:
                res.stopped_early = True
                break
        if ckpt is not None and has_val:
            best = CheckpointManager(checkpoint_dir, cfg.keep_last, mode).best()  # re-read: rank 0 wrote it
            if best is not None:
                model.load_state_dict(ckpt.load(best)["model"])  # keep the best epoch's weights
        return res

    @staticmethod
    def _improved(value: float, best: float | None, mode: str) -> bool:
        if value is None or not math.isfinite(value):
            return best is None
        if best is None or not math.isfinite(best):
            return True
        return value < best if mode == "min" else value > best

    def _train_epoch(self, net, ddp, model, loader, n_batches, opt, sched, scaler, amp_ctx, loss_fn) -> dict[str, float]:
        """One pass; loss and accuracy are summed on the device (no sync per batch) and over ranks."""
        cfg = self.cfg
        model.train()
        opt.zero_grad(set_to_none=True)
        total_loss = torch.zeros((), dtype=torch.float64, device=self.device)
        correct = torch.zeros((), dtype=torch.int64, device=self.device)
        seen, pending, accum = 0, 0, cfg.accum_steps_for(self.dist.world)
        for i, batch in enumerate(loader):
            if i >= n_batches:
                break
            y = batch["label"].to(self.device, non_blocking=True)
            # the last step of an epoch may hold fewer micro-batches: scale by what it really holds
            group = min(accum, n_batches - (i // accum) * accum)
            sync = ddp is None or pending + 1 == group
            with contextlib.nullcontext() if sync else ddp.no_sync():  # gradients all-reduce on a step only
                with amp_ctx:
                    logits = net(**model_inputs(batch, self.device)).float()
                    loss = loss_fn(logits, y)
                scaled = loss / group
                (scaler.scale(scaled) if scaler else scaled).backward()
            pending += 1
            total_loss += loss.detach().double() * len(y)
            correct += ((logits.detach() > 0) == (y == 1)).sum()
            seen += len(y)
            if pending == group:
                self._step(model, opt, scaler)
                sched.step()
                pending = 0
        loss_sum, n_correct, n_seen = distributed.all_sum([float(total_loss), float(correct), float(seen)],
                                                          self.dist, self.device)
        return {"train_loss": loss_sum / max(n_seen, 1), "train_accuracy": n_correct / max(n_seen, 1)}

    def _step(self, model, opt, scaler) -> None:
        if scaler is not None:
            scaler.unscale_(opt)
        if self.cfg.grad_clip:
            nn.utils.clip_grad_norm_(model.parameters(), self.cfg.grad_clip)
        if scaler is not None:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()
        opt.zero_grad(set_to_none=True)

    def _state(self, model, opt, sched, scaler, gen, aug, epoch, bad_epochs, res, stopped) -> dict[str, Any]:
        return {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "scaler": scaler.state_dict() if scaler is not None else None,
            "epoch": epoch,
            "bad_epochs": bad_epochs,
            "stopped": stopped,
            "history": res.history,
            "best_epoch": res.best_epoch,
            "best_metric": res.best_metric,
            "train_config": asdict(self.cfg),
            "rng": {
                "python": random.getstate(),
                "numpy": np.random.get_state(),
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
                "loader": gen.get_state(),
                "augment": aug.get_state(),
            },
        }

    @staticmethod
    def _set_rng(rng: dict[str, Any], gen: torch.Generator, aug: torch.Generator) -> None:
        random.setstate(rng["python"])
        np.random.set_state(rng["numpy"])
        torch.set_rng_state(rng["torch"])
        if rng.get("cuda") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        gen.set_state(rng["loader"])
        if rng.get("augment") is not None:
            aug.set_state(rng["augment"])
