"""Deep models in the experiment loop: clips from the clip cache, the trainer per fold.

For each outer fold: train on the other folds (a grouped share of their
cascade groups held out for early stopping, never the test fold), predict
every clip of the test fold, average clips per video. Each fold checkpoints
every epoch under its fold folder, so a killed fold resumes where it stopped.
Pretrained weights are read once per run: the first model built keeps its
backbone, and every later fold gets a copy of it on a freshly seeded head.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import GroupShuffleSplit

from ..errors import InputError
from ..models import ModelEntry
from ..models.saved import ModelCard, save_deep_model
from ..training import distributed
from ..training.clips import ClipCache, build_clip_cache, clip_table, failed_videos
from ..training.dataset import ClipDataset
from ..training.device import resolve_device
from ..training.events import TrainObserver
from ..training.train_config import TrainConfig
from ..training.trainer import Trainer, seed_everything
from ..workspace import Workspace
from .adapter import META_COLUMNS, ExperimentData
from .run_config import RunConfig

VAL_SHARE = 0.15


def inner_split(groups: np.ndarray, rows: np.ndarray, seed: int, share: float = VAL_SHARE) -> tuple[np.ndarray, np.ndarray]:
    """Split training rows into (fit, val) by cascade group, so no group is in both."""
    if share <= 0 or len(np.unique(groups)) < 4:
        return rows, np.array([], dtype=np.int64)
    gss = GroupShuffleSplit(n_splits=1, test_size=share, random_state=seed)
    fit_idx, val_idx = next(gss.split(rows, groups=groups))
    return rows[fit_idx], rows[val_idx]


def select_copies(table: pd.DataFrame, copies: int | None) -> pd.DataFrame:
    """Keep at most ``copies`` rows per source video, the original (video_id == source) first."""
    if not copies:
        return table
    order = table.assign(_copy=(table["video_id"] != table["source_video_id"]).astype(int))
    order = order.sort_values(["source_video_id", "_copy", "video_id"])
    return order.groupby("source_video_id", sort=False).head(int(copies)).drop(columns="_copy")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class DeepAdapter:
    """``fit_fold``/``predict_fold``/``refit_final`` for the torch models of the catalog."""

    def __init__(self, entry: ModelEntry, ws: Workspace, rc: RunConfig):
        self.entry, self.ws, self.rc = entry, ws, rc
        self.resolved = entry.preset(rc.preset, rc.params)
        self.data_config = entry.data_config(self.resolved)
        self.source = self.data_config.source
        self.tables = [self.source, "splits"]
        workers = {} if rc.workers is None else {"num_workers": rc.workers}
        self.tcfg = TrainConfig.from_dict({**self.resolved["train"], "seed": rc.seed, **workers})
        self.device = resolve_device(rc.device)
        distributed.current(self.device.type, required=rc.ddp)  # joins torchrun's group; --ddp without it: error
        self.cache: ClipCache | None = None
        self.backbone_state: dict[str, torch.Tensor] | None = None

    # -- models -------------------------------------------------------------
    def new_model(self, seed: int):
        """A model seeded by ``seed``; the run's pretrained backbone (read once) copied in when it has one."""
        seed_everything(seed)
        kwargs = dict(self.resolved["model"])
        if "weights" in kwargs:
            kwargs["weights"] = None
        model = self.entry.build(kwargs)
        if self.backbone_state is not None:
            missing, unexpected = model.load_state_dict(self.backbone_state, strict=False)
            if unexpected or any(not k.startswith(model.head_prefixes) for k in missing):
                raise RuntimeError(f"model {self.entry.id}: pretrained backbone does not fit ({(unexpected or missing)[:3]})")
            model.pretrained = True
        return model

    def _read_weights(self) -> None:
        """Build once with the preset's weights (fails fast when they are missing) and keep the backbone."""
        if self.resolved["model"].get("weights") in (None, False, "none"):
            return
        model = self.entry.build(self.resolved["model"])
        if getattr(model, "pretrained", False):
            self.backbone_state = {k: v.detach().clone() for k, v in model.state_dict().items()
                                   if not k.startswith(model.head_prefixes)}

    # -- the adapter ----------------------------------------------------------
    def load(self) -> ExperimentData:
        table = clip_table(self.ws, self.source)
        self._read_weights()  # before decoding any video
        table = table[table["label"].notna() & (table["fold"] >= 0)]
        table = select_copies(table, self.resolved["data"].get("copies_per_source"))
        if table.empty:
            raise InputError(self.ws.table(self.source), "no labelled rows with a fold to train on")
        self.cache = build_clip_cache(table, self.data_config.clip, self.ws.cache_dir / "clips", self.ws)
        index = self.cache.index
        if index.empty:
            raise InputError(self.ws.table(self.source), "no video could be decoded into clips")
        meta = index[["video_id", "source_video_id", "fold", "label"]].copy()
        meta["group_id"] = (index["group_id"] if "group_id" in index.columns else index["source_video_id"]).astype(str)
        meta["label"] = meta["label"].astype(int)
        meta["fold"] = meta["fold"].astype(int)
        self.rows = index["row"].to_numpy()
        self.groups = meta["group_id"].to_numpy()
        failed = failed_videos(self.cache)["video_id"].astype(str).tolist()
        return ExperimentData(meta=meta[META_COLUMNS].reset_index(drop=True), failed_ids=failed)

    def key(self) -> Any:
        return {"cache": self.cache.meta["key"], "resolved": self.resolved}

    def _dataset(self, pos: np.ndarray, train: bool) -> ClipDataset:
        dc = self.data_config
        return ClipDataset(self.cache, self.rows[pos], train=train, mean=dc.mean, std=dc.std)

    def fit_fold(self, fold: int, train: np.ndarray, fold_dir: Path, observer: TrainObserver) -> tuple[Any, dict]:
        fit_pos, val_pos = inner_split(self.groups[train], train, self.rc.seed + fold,
                                       float(self.resolved["data"].get("val_share", VAL_SHARE)))
        model = self.new_model(self.rc.seed + fold)
        fit = Trainer(self.tcfg, self.device).fit(
            model, self._dataset(fit_pos, True), self._dataset(val_pos, False) if len(val_pos) else None,
            checkpoint_dir=fold_dir / "ckpt", observer=observer, fold=fold)
        return model, {"best_epoch": fit.best_epoch, "best_metric": fit.best_metric,
                       "stopped_early": fit.stopped_early, "history": fit.history}

    def predict_fold(self, fitted: Any, test: np.ndarray, record: dict) -> pd.DataFrame:
        """Per-video mean fake probability over its clips."""
        logits, _, got_rows = Trainer(self.tcfg, self.device).predict(fitted, self._dataset(test, False))
        idx = self.cache.index.set_index("row").loc[got_rows].reset_index()
        idx["prob"] = _sigmoid(logits.astype(np.float64))
        out = idx.groupby(["video_id", "source_video_id", "label"], sort=True)["prob"].mean().reset_index()
        out["label"] = out["label"].astype(int)
        return out

    def refit_final(self, records: list[dict], final_dir: Path, observer: TrainObserver) -> tuple[Any, dict]:
        """Every labelled video, for the median number of epochs early stopping chose (+1)."""
        best = [r.get("best_epoch") or 0 for r in records]
        epochs = max(1, min(int(np.median(best)) + 1 if best else self.tcfg.epochs, self.tcfg.epochs))
        cfg = TrainConfig.from_dict({**asdict(self.tcfg), "epochs": epochs})
        model = self.new_model(self.rc.seed)
        Trainer(cfg, self.device).fit(model, self._dataset(np.arange(len(self.rows)), True),
                                      checkpoint_dir=final_dir / "ckpt", observer=observer, fold=-1)
        return model, {"final_epochs": epochs}

    def save_final(self, model: Any, folder: Path, card: ModelCard) -> Path:
        card.data = self.data_config.as_dict()
        card.model_kwargs = dict(self.resolved["model"])
        return save_deep_model(folder, model.cpu(), card)

    def summary_extra(self, records: list[dict]) -> dict:
        return {"clip": asdict(self.data_config.clip), "train": asdict(self.tcfg), "model": self.resolved["model"],
                "clips": int(len(self.rows)), "best_epochs": [r.get("best_epoch") for r in records]}

    def importance(self, records: list[dict], final: Any) -> pd.DataFrame | None:
        return None
