"""What a model family hands the experiment loop: its rows, and fit/predict/refit on positions of them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ..config import stable_hash
from ..models.saved import ModelCard
from ..training.distributed import is_main_process
from ..training.events import TrainObserver
from ..training.metrics import json_safe
from ..workspace import Workspace, atomic_path, atomic_write_text
from .fold_events import FOLD_EVENTS, FoldRecorder, load_events, replay, save_events

META_COLUMNS = ["video_id", "source_video_id", "fold", "label", "group_id"]
FOLD_PREDICTIONS = "oof.parquet"
FOLD_RECORD = "fold.json"


@dataclass
class ExperimentData:
    """The rows a model trains on: ``meta`` (one row per training row, positional) and failures."""

    meta: pd.DataFrame  # video_id, source_video_id, fold, label, group_id
    failed_ids: list[str] = field(default_factory=list)

    @property
    def folds(self) -> np.ndarray:
        return self.meta["fold"].to_numpy(dtype=int)

    @property
    def y(self) -> np.ndarray:
        return self.meta["label"].to_numpy(dtype=int)

    @property
    def groups(self) -> np.ndarray:
        return self.meta["group_id"].astype(str).to_numpy()


class FamilyAdapter(Protocol):
    """What a model family supplies to the loop. Positions index ``ExperimentData.meta``."""

    tables: list[str]

    def load(self) -> ExperimentData: ...

    def key(self) -> Any:
        """Anything besides the run config and table bytes that decides results (e.g. the clip cache)."""

    def fit_fold(self, fold: int, train: np.ndarray, fold_dir: Path, observer: TrainObserver) -> tuple[Any, dict]:
        """Fit on the training positions; returns the fitted model and a JSON record of the fit."""

    def predict_fold(self, fitted: Any, test: np.ndarray, record: dict) -> pd.DataFrame:
        """Rows ``video_id, source_video_id, label, prob`` for the test positions (may add to ``record``)."""

    def refit_final(self, records: list[dict], final_dir: Path, observer: TrainObserver) -> tuple[Any, dict]:
        """Fit on every row; returns the model and a JSON-able dict for ``metrics.json``."""

    def save_final(self, model: Any, folder: Path, card: ModelCard) -> Path: ...

    def summary_extra(self, records: list[dict]) -> dict: ...

    def importance(self, records: list[dict], final: Any) -> pd.DataFrame | None: ...


def cv_run_dir(ws: Workspace, model_id: str, rc: Any, adapter: "FamilyAdapter") -> tuple[Path, str, dict[str, str]]:
    """(run folder, run key, table fingerprints) of a loaded adapter: where its folds keep their state.

    One definition, so a model that reuses another's folds (5f-5j train their backbone's folds) finds them.
    """
    tables = ws.fingerprints(adapter.tables)
    run_key = stable_hash({"config": rc.hash(), "data": tables, "adapter": adapter.key()})
    return ws.artifacts_dir / "cv" / model_id / run_key, run_key, tables


def fold_done(fold_dir: Path) -> bool:
    """Whether a fold finished before (its predictions and, written last, its record are saved)."""
    return (fold_dir / FOLD_PREDICTIONS).exists() and (fold_dir / FOLD_RECORD).exists()


def run_fold(adapter: FamilyAdapter, data: ExperimentData, k: int, fold_dir: Path,
              obs: TrainObserver) -> tuple[pd.DataFrame, dict, Path]:
    """One outer fold, or its saved predictions when it finished before with the same run key.

    The loop runs every fold through here; an ensemble runs its members' folds through here too, in the
    members' own run folders, so a member's finished fold is reused, never refitted. A reused fold replays
    the events its fit emitted (:mod:`.fold_events`).
    """
    done, record_path = fold_dir / FOLD_PREDICTIONS, fold_dir / FOLD_RECORD
    if fold_done(fold_dir):
        replay(obs, load_events(fold_dir / FOLD_EVENTS))  # its grid points and epochs, as when it was fitted
        return pd.read_parquet(done), json.loads(record_path.read_text(encoding="utf-8")), done
    train = np.flatnonzero(data.folds != k)
    test = np.flatnonzero(data.folds == k)
    recorder = FoldRecorder(obs)
    fitted, record = adapter.fit_fold(k, train, fold_dir, recorder)
    pred = adapter.predict_fold(fitted, test, record)
    if is_main_process():  # data parallel: every rank computed the fold, rank 0 writes it
        with atomic_path(done) as tmp:
            pred.to_parquet(tmp, index=False)
        save_events(fold_dir / FOLD_EVENTS, recorder.events)
        atomic_write_text(record_path, json.dumps(json_safe(record), indent=1))  # written last: marks the fold done
    return pred, record, done
