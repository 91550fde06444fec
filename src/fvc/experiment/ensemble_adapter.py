"""The mean ensemble (``ens``) in the experiment loop.

Each member is an ordinary catalog model with its own adapter and its own
run folder (what ``fvc train --model <member>`` with the same preset and
seed uses), so a member fold that already finished is read back, never
refitted. For outer fold k the ensemble averages, per source video, the
members' predictions for fold k's test videos: the score of fold k uses
nothing but the members' fold-k models, which never saw fold k. There are
no learned weights, so nothing is fitted on any outer test fold. Rows are
the source videos every member could score; the others are named as failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..models import ModelEntry, get_model
from ..models.saved import ENSEMBLE_MEMBERS, EnsembleModel, ModelCard, save_ensemble_model
from ..training.events import TrainObserver
from ..training.metrics import aggregate_by_video
from ..workspace import Workspace
from .adapter import META_COLUMNS, ExperimentData, FamilyAdapter, cv_run_dir, run_fold
from .run_config import RunConfig, default_run_config


@dataclass
class Member:
    entry: ModelEntry
    rc: RunConfig
    adapter: FamilyAdapter
    data: ExperimentData | None = None
    run_dir: Path | None = None
    key: str = ""


class EnsembleAdapter:
    """``fit_fold`` runs (or reads back) every member's fold; ``predict_fold`` averages them."""

    def __init__(self, entry: ModelEntry, ws: Workspace, rc: RunConfig,
                 make_adapter: Callable[[ModelEntry, Workspace, RunConfig], FamilyAdapter]):
        self.entry, self.ws, self.rc = entry, ws, rc
        self.member_ids = entry.build(entry.preset(rc.preset, rc.params)["model"])
        self.members = []
        for mid in self.member_ids:
            m = get_model(mid)
            preset = rc.preset if rc.preset in m.presets else m.default_preset
            mrc = default_run_config(mid, preset=preset, seed=rc.seed, folds=rc.folds, device=rc.device,
                                     workers=rc.workers, ddp=rc.ddp)
            self.members.append(Member(m, mrc, make_adapter(m, ws, mrc)))
        self.tables = sorted({t for mem in self.members for t in mem.adapter.tables})

    def load(self) -> ExperimentData:
        per_video = []
        failed: set[str] = set()
        for mem in self.members:
            mem.data = mem.adapter.load()
            mem.run_dir, mem.key, _ = cv_run_dir(self.ws, mem.entry.id, mem.rc, mem.adapter)
            failed |= set(mem.data.failed_ids)
            per_video.append(mem.data.meta.groupby("source_video_id", sort=True)[["fold", "label", "group_id"]].first())
        common = sorted(set.intersection(*(set(v.index) for v in per_video)))
        failed |= set().union(*(set(v.index) for v in per_video)) - set(common)
        if not common:
            raise InputError("--members", f"no source video is scored by every member of {', '.join(self.member_ids)}")
        meta = per_video[0].loc[common].reset_index()
        meta["video_id"] = meta["source_video_id"]
        self.data = ExperimentData(meta=meta[META_COLUMNS].reset_index(drop=True), failed_ids=sorted(failed))
        return self.data

    def key(self) -> Any:
        return {"members": {mem.entry.id: mem.key for mem in self.members}}

    def fit_fold(self, fold: int, train: np.ndarray, fold_dir: Path, observer: TrainObserver) -> tuple[Any, dict]:
        preds, records = {}, {}
        for mem in self.members:  # the member's own fold: read back when finished, else run and kept there
            pred, records[mem.entry.id], _ = run_fold(mem.adapter, mem.data, fold, mem.run_dir / f"fold-{fold}",
                                                      TrainObserver())
            preds[mem.entry.id] = pred
        return preds, {"members": records}

    def predict_fold(self, fitted: dict[str, pd.DataFrame], test: np.ndarray, record: dict) -> pd.DataFrame:
        meta = self.data.meta.iloc[test]
        probs = []
        for mid, pred in fitted.items():
            per_video = aggregate_by_video(pred, key="source_video_id").set_index("source_video_id")["prob"]
            missing = set(meta["source_video_id"]) - set(per_video.index)
            if missing:
                raise RuntimeError(f"member {mid} has no fold prediction for {sorted(missing)[:3]}")
            probs.append(per_video.loc[meta["source_video_id"]].to_numpy())
        record["member_ids"] = list(fitted)
        return meta[["video_id", "source_video_id", "label"]].assign(prob=np.mean(probs, axis=0)).reset_index(drop=True)

    def refit_final(self, records: list[dict], final_dir: Path, observer: TrainObserver) -> tuple[Any, dict]:
        finals = {}
        for mem in self.members:
            mrec = [r["members"][mem.entry.id] for r in records]
            finals[mem.entry.id], _ = mem.adapter.refit_final(mrec, mem.run_dir / "final", TrainObserver())
        return finals, {"members": list(finals)}

    def save_final(self, model: dict[str, Any], folder: Path, card: ModelCard) -> Path:
        """Each member's final model with its own card under ``members/<id>/``, then the ensemble's card."""
        for mem in self.members:
            mcard = replace(card, model_id=mem.entry.id, name=mem.entry.name, family=mem.entry.family,
                            preset=mem.rc.preset, config_hash=mem.rc.hash(), data={}, model_kwargs={}, columns=[])
            mem.adapter.save_final(model[mem.entry.id], folder / ENSEMBLE_MEMBERS / mem.entry.id, mcard)
        card.data = self.entry.data_config().as_dict()
        return save_ensemble_model(folder, EnsembleModel(self.entry.id, list(self.member_ids)), card)

    def summary_extra(self, records: list[dict]) -> dict:
        return {"members": list(self.member_ids),
                "member_runs": {mem.entry.id: str(mem.run_dir) for mem in self.members},
                "member_presets": {mem.entry.id: mem.rc.preset for mem in self.members}}

    def importance(self, records: list[dict], final: Any) -> pd.DataFrame | None:
        return None
