"""Feature-family ablation: the grouped-CV predictions of one feature model with each family removed, and alone.

Why: a feature family earns its decode time only if the model scores worse
without it. Each variant is the model's own run (same run config, grid
search and outer folds as ``fvc train``) on a subset of the stage-2 columns,
through the loop's fold kernel, so finished folds are reused on a re-run
(the variant's columns are part of its run key). The result is one table,
``ablation``: the video-level out-of-fold predictions of every variant,
with a freshness record in its footer; the report turns it into ROC-AUC
overall and per manipulation kind.

The (variant, fold) cells are independent: ``run_ablation`` hands the
unfinished ones to a ``compute`` callable (the executors' cell grid,
:mod:`fvc.orchestration.fold_grid`, runs them on a pool or on Ray with
:func:`run_variant_fold`), then gathers every variant from its saved folds,
in plan order, so the table does not depend on where or in which order the
cells ran. A process reads the feature table once, whatever the number of
variants it fits (:func:`cached_feature_rows`).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..config import stable_hash
from ..errors import InputError
from ..features.columns import FEATURE_PREFIXES
from ..models import get_model
from ..training.events import CompositeObserver
from ..workspace import Workspace
from .adapter import cv_run_dir, fold_done, run_fold
from .feature_adapter import FeatureAdapter, feature_tables, load_feature_rows
from .loop import check_folds
from ..training.metrics import aggregate_by_video
from .result_files import list_results, read_metrics, score_oof
from .run_config import RunConfig, default_run_config

TABLE = "ablation"
VERSION = 1  # bump when what a variant computes changes
FAMILIES = tuple(p.rstrip("_") for p in FEATURE_PREFIXES)  # family name = column prefix without "_"
DEFAULT_MODEL = "5beta-lgbm"


def family(column: str) -> str:
    """The family of a stage-2 (or ``s4_``) feature column."""
    name = column.removeprefix("s4_")
    for fam in FAMILIES:
        if name.startswith(fam + "_"):
            return fam
    return "scale" if name.startswith("is_") else "other"


@dataclass(frozen=True)
class Variant:
    """One ablation run: ``all`` families, ``without`` one, or ``only`` one."""

    mode: str  # all / without / only
    family: str  # "" for all

    @property
    def name(self) -> str:
        return "all" if self.mode == "all" else f"{self.mode} {self.family}"

    def keeps(self, fam: str) -> bool:
        return self.mode == "all" or (fam == self.family) == (self.mode == "only")

    @classmethod
    def parse(cls, name: str) -> "Variant":
        """The variant a ``name`` stands for (what a cell carries to another process)."""
        mode, _, fam = name.partition(" ")
        if (mode == "all" and not fam) or (mode in ("without", "only") and fam in FAMILIES):
            return cls(mode, fam)
        raise ValueError(f"not an ablation variant: {name!r}")


_ROWS: dict[tuple, tuple[pd.DataFrame, list[str], list[str]]] = {}  # one entry: the last table this process read


def cached_feature_rows(ws: Workspace, stages: list[int]) -> tuple[pd.DataFrame, list[str], list[str]]:
    """``load_feature_rows``, read once per process for the same tables' content (every variant shares it)."""
    key = (str(ws.root.resolve()), tuple(stages), stable_hash(ws.fingerprints(feature_tables(stages))))
    if key not in _ROWS:
        _ROWS.clear()
        _ROWS[key] = load_feature_rows(ws, stages)
    return _ROWS[key]


class SubsetAdapter(FeatureAdapter):
    """The model's feature adapter on the columns of the families a variant keeps."""

    def __init__(self, entry, ws: Workspace, rc: RunConfig, variant: Variant):
        super().__init__(entry, ws, rc)
        self.variant = variant

    def feature_rows(self):
        rows, cols, failed = cached_feature_rows(self.ws, self.rc.feature_stages)
        keep = [c for c in cols if self.variant.keeps(family(c))]
        if not keep:
            raise InputError(self.ws.table("features_stage2"), f"no feature columns left for '{self.variant.name}'")
        return rows, keep, failed

    def key(self) -> Any:
        # 'all' is exactly the model's own training run: it shares (and reuses) fvc train's folds;
        # the other variants add their name to the same estimator key
        base = super().key()
        return base if self.variant.mode == "all" else {"ablation": self.variant.name, "version": VERSION,
                                                         "estimator": base}


def best_tree_model(ws: Workspace) -> str:
    """The trained tree feature model with the best mean ROC-AUC (``DEFAULT_MODEL`` when none is trained)."""
    best, score = DEFAULT_MODEL, -1.0
    for mid in list_results(ws):
        try:
            entry = get_model(mid)
        except InputError:
            continue
        if entry.family != "features" or entry.importance != "native":
            continue
        auc = read_metrics(ws, mid).get("mean", {}).get("roc_auc")
        if auc is not None and auc > score:
            best, score = mid, float(auc)
    return best


def variants(columns: list[str]) -> list[Variant]:
    """all, then without and only each family the table has (in FAMILIES order)."""
    present = {family(c) for c in columns}
    fams = [f for f in FAMILIES if f in present]
    return [Variant("all", "")] + [Variant("without", f) for f in fams] + [Variant("only", f) for f in fams]


def freshness_key(ws: Workspace, rc: RunConfig) -> str:
    """What decides the table: the ablation version, the run config and the input tables' content keys."""
    tables = ws.fingerprints(["features_stage2", "splits"])
    return stable_hash({"version": VERSION, "run_config": rc.hash(), "tables": tables})


def is_fresh(ws: Workspace, rc: RunConfig) -> bool:
    rec = ws.stage_record(TABLE) if ws.has(TABLE) else None
    return bool(rec) and rec.get("key") == freshness_key(ws, rc)


Cells = list[tuple[str, int]]  # (variant name, outer fold)


def run_ablation(ws: Workspace, model: str | None = None, force: bool = False,
                 on_variant: Callable[[int, int, str], None] | None = None,
                 compute: Callable[[RunConfig, Cells], None] | None = None) -> tuple[pd.DataFrame, bool]:
    """Run (or reuse) every variant; returns the ``ablation`` table and whether it was computed now.

    ``compute(rc, cells)`` computes the unfinished (variant, fold) cells anywhere (each with
    :func:`run_variant_fold`); without it they are computed here, one after another, as they are gathered.
    ``on_variant(i, n, name)`` is called before each variant is gathered (progress).
    """
    entry, rc = ablation_run(model or best_tree_model(ws))
    if not force and is_fresh(ws, rc):
        return ws.read(TABLE), False
    plan = variants(cached_feature_rows(ws, rc.feature_stages)[1])
    if force:  # 'all' is fvc train's own run: reused, never forgotten
        for var in plan:
            run_dir = variant_run(ws, entry, rc, var)[2]
            if var.mode != "all" and run_dir.exists():
                shutil.rmtree(run_dir)
    if compute is not None:
        todo = [(var.name, k) for var in plan for k in pending_folds(ws, entry, rc, var)]
        if todo:
            compute(rc, todo)
            left = [(var.name, k) for var in plan for k in pending_folds(ws, entry, rc, var)]
            if left:  # the executor's fault: never made up for here, one after another
                raise RuntimeError(f"the ablation's executor left {len(left)} cell(s) unfinished, e.g. {left[0]}")
    parts = []
    for i, var in enumerate(plan):
        if on_variant is not None:
            on_variant(i, len(plan), var.name)
        parts.append(variant_predictions(ws, entry, rc, var))
    table = pd.concat(parts, ignore_index=True)
    ws.write(TABLE, table, stage={"stage": TABLE, "key": freshness_key(ws, rc), "model": entry.id,
                                  "version": VERSION})
    return table, True


def ablation_run(model: str):
    """The catalog entry and run config of the model to ablate (a stage-2 feature model, else one line)."""
    entry = get_model(model)
    if entry.family != "features":
        raise InputError("--model", f"{model} is a {entry.family} model; the ablation drops feature columns, "
                                    "so it needs a feature model (e.g. 5beta-lgbm)")
    if 4 in entry.data.stages:
        raise InputError("--model", f"{model} reads stage-4 features too; ablate a stage-2 model (e.g. 5beta-lgbm)")
    return entry, default_run_config(entry.id)


def variant_run(ws: Workspace, entry, rc: RunConfig, var: Variant):
    """(adapter, its data, run folder) of one variant: where its folds are saved and found again."""
    adapter = SubsetAdapter(entry, ws, rc, var)
    data = adapter.load()
    return adapter, data, cv_run_dir(ws, entry.id, rc, adapter)[0]


def pending_folds(ws: Workspace, entry, rc: RunConfig, var: Variant) -> list[int]:
    """The variant's outer folds not yet saved (a re-run after a kill computes only these)."""
    _, data, run_dir = variant_run(ws, entry, rc, var)
    return [k for k in check_folds(ws, data, rc) if not fold_done(run_dir / f"fold-{k}")]


def run_variant_fold(ws: Workspace, rc: RunConfig, variant: str, fold: int) -> None:
    """One (variant, fold) cell, saved where the gathering finds it (a finished one is reused)."""
    entry = get_model(rc.model)
    adapter, data, run_dir = variant_run(ws, entry, rc, Variant.parse(variant))
    if fold not in check_folds(ws, data, rc):
        raise InputError("--fold", f"fold {fold} is not one that {entry.id} runs")
    run_fold(adapter, data, fold, run_dir / f"fold-{fold}", CompositeObserver([]))


def variant_predictions(ws: Workspace, entry, rc: RunConfig, var: Variant) -> pd.DataFrame:
    """Video-level out-of-fold predictions of one variant, from the loop's fold kernel (finished folds reused)."""
    adapter, data, run_dir = variant_run(ws, entry, rc, var)
    folds = check_folds(ws, data, rc)
    obs = CompositeObserver([])
    oof = pd.concat([run_fold(adapter, data, k, run_dir / f"fold-{k}", obs)[0].assign(fold=int(k)) for k in folds],
                    ignore_index=True)
    videos = aggregate_by_video(oof, key="source_video_id")
    fold_auc = [f["roc_auc"] for f in score_oof(oof, video_level=rc.video_level, threshold=rc.threshold)[0]]
    return pd.DataFrame({
        "model": entry.id, "variant": var.name, "mode": var.mode, "family": var.family,
        "n_features": adapter.X.shape[1], "video_id": videos["source_video_id"].astype(str).to_numpy(),
        "fold": videos["fold"].astype(int).to_numpy(), "label": videos["label"].astype(int).to_numpy(),
        "prob": videos["prob"].astype(float).to_numpy(), "fold_mean_auc": float(np.nanmean(fold_auc)),
    })
