"""One training loop for every torch model, with exact resume.

AdamW with separate learning rates for a pretrained backbone and the new
head, cosine schedule with linear warm-up, gradient clipping and
accumulation, autocast on CUDA only, early stopping with patience, and a
checkpoint every epoch holding everything needed to continue bit for bit:
model, optimizer, scheduler, grad scaler, and the python / numpy / torch /
data-loader RNG states.
"""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..errors import InputError
from .checkpoints import CheckpointManager
from .dataset import collate_clips
from .events import TrainObserver
from .train_config import TrainConfig

LABEL_KEYS = ("label", "row")


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


def _worker_init(worker_id: int) -> None:
    s = torch.initial_seed() % 2**32
    np.random.seed(s)
    random.seed(s)


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
    return {k: v.to(device) for k, v in batch.items() if k not in LABEL_KEYS}


@torch.no_grad()
def predict_logits(model: nn.Module, loader: DataLoader, device: torch.device) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    """Fits one model on one training set; optional validation set for early stopping."""

    def __init__(self, cfg: TrainConfig, device: str | torch.device = "cpu"):
        self.cfg = cfg
        self.device = torch.device(device)

    def loader(self, ds: Dataset, train: bool, generator: torch.Generator | None = None) -> DataLoader:
        return DataLoader(
            ds, batch_size=self.cfg.batch_size, shuffle=train, generator=generator, drop_last=False,
            num_workers=self.cfg.num_workers, collate_fn=collate_clips, worker_init_fn=_worker_init,
            persistent_workers=False, pin_memory=self.device.type == "cuda",
        )

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
        prev_det, prev_threads = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
        if cfg.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        try:
            return self._fit(model, train_ds, val_ds, checkpoint_dir, observer, fold, resume)
        finally:
            torch.use_deterministic_algorithms(prev_det)
            torch.set_num_threads(prev_threads)

    def _fit(self, model, train_ds, val_ds, checkpoint_dir, observer, fold, resume) -> FitResult:
        cfg = self.cfg
        model.to(self.device)
        if cfg.grad_checkpointing:
            enable = getattr(model, "set_grad_checkpointing", None)
            if enable is None:
                raise InputError("train.grad_checkpointing", f"{type(model).__name__} has no gradient checkpointing")
            enable(True)  # the model says which of its parts recompute (timm blocks, transformers layers)
        gen = torch.Generator().manual_seed(cfg.seed)
        train_loader = self.loader(train_ds, True, gen)
        val_loader = self.loader(val_ds, False) if val_ds is not None and len(val_ds) else None
        n_batches = len(train_loader)
        if cfg.max_batches_per_epoch:
            n_batches = min(n_batches, cfg.max_batches_per_epoch)
        steps_per_epoch = math.ceil(n_batches / cfg.accum_steps)
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
            self._set_rng(state["rng"], gen)
            start, bad_epochs = state["epoch"] + 1, state["bad_epochs"]
            res.history, res.best_epoch, res.best_metric = state["history"], state["best_epoch"], state["best_metric"]
            if state.get("stopped"):
                res.stopped_early = True
                start = cfg.epochs
        else:
            seed_everything(cfg.seed)  # dropout and augmentation draws start from the run's seed
        for epoch in range(start, cfg.epochs):
            metrics = self._train_epoch(model, train_loader, n_batches, opt, sched, scaler, amp_ctx, loss_fn)
            metrics["lr_head"] = opt.param_groups[-1]["lr"]
            if val_loader is not None:
                logits, y, _ = predict_logits(model, val_loader, self.device)
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
            stop = val_loader is not None and bad_epochs >= cfg.patience
            if ckpt is not None:
                ckpt.save(self._state(model, opt, sched, scaler, gen, epoch, bad_epochs, res, stop), epoch,
                          monitored if math.isfinite(monitored) else None)
            if observer is not None:
                observer.on_epoch_end(fold, epoch, metrics)
            if stop:
                res.stopped_early = True
                break
        if ckpt is not None and val_loader is not None and ckpt.best() is not None:
            model.load_state_dict(ckpt.load(ckpt.best())["model"])  # keep the best epoch's weights
        return res

    @staticmethod
    def _improved(value: float, best: float | None, mode: str) -> bool:
        if value is None or not math.isfinite(value):
            return best is None
        if best is None or not math.isfinite(best):
            return True
        return value < best if mode == "min" else value > best

    def _train_epoch(self, model, loader, n_batches, opt, sched, scaler, amp_ctx, loss_fn) -> dict[str, float]:
        cfg = self.cfg
        model.train()
        opt.zero_grad(set_to_none=True)
        total_loss, correct, seen, pending = 0.0, 0, 0, 0
        for i, batch in enumerate(loader):
            if i >= n_batches:
                break
            y = batch["label"].to(self.device)
            with amp_ctx:
                logits = model(**model_inputs(batch, self.device)).float()
                loss = loss_fn(logits, y)
            # the last step of an epoch may hold fewer micro-batches: scale by what it really holds
            group = min(cfg.accum_steps, n_batches - (i // cfg.accum_steps) * cfg.accum_steps)
            scaled = loss / group
            (scaler.scale(scaled) if scaler else scaled).backward()
            pending += 1
            total_loss += float(loss.item()) * len(y)
            correct += int(((logits.detach() > 0) == (y == 1)).sum().item())
            seen += len(y)
            if pending == group:
                self._step(model, opt, scaler)
                sched.step()
                pending = 0
        return {"train_loss": total_loss / max(seen, 1), "train_accuracy": correct / max(seen, 1)}

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

    def _state(self, model, opt, sched, scaler, gen, epoch, bad_epochs, res, stopped) -> dict[str, Any]:
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
            },
        }

    @staticmethod
    def _set_rng(rng: dict[str, Any], gen: torch.Generator) -> None:
        random.setstate(rng["python"])
        np.random.set_state(rng["numpy"])
        torch.set_rng_state(rng["torch"])
        if rng.get("cuda") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        gen.set_state(rng["loader"])
