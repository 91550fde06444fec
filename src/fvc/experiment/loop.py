"""The one grouped cross-validation loop, for every model family.

Outer folds come from ``splits`` (a row's fold is its source video's fold,
joined at training time, so augmented copies and clips of one video never
straddle train and test). A family adapter (:mod:`.feature_adapter`,
:mod:`.deep_adapter`, :mod:`.embedding_adapter`, :mod:`.ensemble_adapter`)
knows how to load rows, fit on a fold's training rows, predict its test
rows and refit on everything; this loop owns the rest, once: the observer
lifecycle, fold validation, fold-level resume (a finished fold is never
recomputed), ``--force``, ``metrics.json`` and the final model with its
card.
"""

from __future__ import annotations

import shutil
from typing import Any

import pandas as pd

from ..config import FvcConfig, stable_hash
from ..errors import InputError
from ..features.columns import feature_columns
from ..models import ModelEntry, get_model
from ..models.saved import ModelCard
from ..models.training_summary import summarize
from ..training.distributed import is_main_process, sync_processes
from ..training.events import CompositeObserver, TrainObserver
from ..workspace import Workspace
from .adapter import ExperimentData, FamilyAdapter, cv_run_dir, run_fold
from .deep_adapter import DeepAdapter
from .embedding_adapter import EmbeddingAdapter
from .ensemble_adapter import EnsembleAdapter
from .feature_adapter import FeatureAdapter
from .result_files import CVResult, build_summary, result_dir, save_cv_result, score_oof, write_importance
from .run_config import RunConfig

ADAPTERS = {"features": FeatureAdapter, "deep": DeepAdapter, "embedding": EmbeddingAdapter}


def make_adapter(entry: ModelEntry, ws: Workspace, rc: RunConfig) -> FamilyAdapter:
    if entry.family == "ensemble":  # its members are built by this same factory
        return EnsembleAdapter(entry, ws, rc, make_adapter)
    return ADAPTERS[entry.family](entry, ws, rc)


def run_experiment(ws: Workspace, cfg: FvcConfig, rc: RunConfig, observers: list[TrainObserver] | None = None,
                   force: bool = False) -> CVResult:
    """Grouped CV of one model, then the final refit; results under ``results/<id>/``.

    Data parallel (torchrun): every rank runs this loop in step; rank 0 alone writes files.
    """
    main = is_main_process()
    entry = get_model(rc.model)
    entry.preset(rc.preset, rc.params)  # unknown preset or parameter: fail before reading any table
    obs = CompositeObserver(observers or [])
    adapter = make_adapter(entry, ws, rc)
    data = _load_rank0_first(adapter)
    run_dir, _, tables = cv_run_dir(ws, entry.id, rc, adapter)
    fingerprint = stable_hash(tables)
    folds = check_folds(ws, data, rc)
    if force and run_dir.exists() and main:
        shutil.rmtree(run_dir)
    sync_processes()  # no rank looks for finished folds before rank 0 cleared them
    obs.on_run_start(entry.id, rc, fingerprint, tables)
    try:
        oof_parts, records = [], []
        for k in folds:
            obs.on_fold_start(k)
            pred, record, done = run_fold(adapter, data, k, run_dir / f"fold-{k}", obs)
            pred = pred.assign(fold=int(k))
            m = score_oof(pred, video_level=rc.video_level, threshold=rc.threshold)[0][0]
            fold_metrics = {key: v for key, v in m.items() if key != "fold"}
            fold_metrics.update({key: v for key, v in record.get("metrics", {}).items()})
            obs.on_fold_end(k, fold_metrics, {"fold_predictions": done})
            oof_parts.append(pred)
            records.append(record)
        oof = pd.concat(oof_parts, ignore_index=True)
        summary = build_summary(entry.id, oof, config_hash=rc.hash(), run_config=rc, spec=entry,
                                video_level=rc.video_level, threshold=rc.threshold,
                                n_failed_videos=len(data.failed_ids), failed_video_ids=data.failed_ids,
                                extra=adapter.summary_extra(records))
        summary["data_fingerprint"] = fingerprint
        final_path, final = None, None
        rdir = result_dir(ws, entry.id)
        if rc.refit_final:
            final, extra = adapter.refit_final(records, run_dir / "final", obs)
            summary["extra"].update(extra)
            card = ModelCard(model_id=entry.id, name=entry.name, family=entry.family, preset=rc.preset,
                             data={}, features=cfg.features.model_dump(mode="json"),
                             scale=cfg.scale.model_dump(mode="json"), config_hash=rc.hash(),
                             data_fingerprint=fingerprint,
                             cv={"roc_auc": summary["mean"].get("roc_auc"), "roc_auc_std": summary["std"].get("roc_auc"),
                                 "log_loss": summary["mean"].get("log_loss"), "n_folds": len(folds)},
                             training_summary=training_videos_summary(ws, data))
            final_path = adapter.save_final(final, rdir, card) if main else None
        arts = save_cv_result(ws, summary, oof[["video_id", "source_video_id", "fold", "label", "prob"]], rc,
                              final_path) if main else {}
        imp = adapter.importance(records, final)
        if imp is not None and main:
            arts["feature_importance"] = write_importance(ws, entry.id, imp)
        result = CVResult(model_id=entry.id, config_hash=rc.hash(), fold_metrics=summary["folds"],
                          mean=summary["mean"], std=summary["std"], oof=oof, n_failed_videos=len(data.failed_ids),
                          final_model_path=final_path, result_dir=rdir, summary=summary, artifacts=arts)
        obs.on_run_end(summary, final_path, arts)
        return result
    except BaseException as exc:
        obs.on_run_error(entry.id, exc)
        raise


def training_videos_summary(ws: Workspace, data: ExperimentData) -> dict[str, Any]:
    """The card's summary of the stage-2 feature rows of the videos this model trained on ({} without them).

    Rows of every source video in the model's data, whatever its inputs: a deep model's clips come from the
    same videos, so their stage-2 features say where its training data lies too.
    """
    if not ws.has("features_stage2"):
        return {}
    feats = ws.read("features_stage2")
    sources = set(data.meta["source_video_id"].astype(str))
    rows = feats[feats["error"].isna() & feats["source_video_id"].astype(str).isin(sources)]
    if rows.empty:
        return {}
    return summarize(rows, feature_columns(rows.columns))


def experiment_folds(ws: Workspace, rc: RunConfig, forget: bool = False) -> list[int]:
    """The outer folds ``run_experiment(rc)`` runs: what an executor spreads over tasks.

    With ``forget`` the run's saved folds and final refit are removed first
    (what ``force`` does), so the folds computed next are all new.
    """
    entry = get_model(rc.model)
    entry.preset(rc.preset, rc.params)
    adapter = make_adapter(entry, ws, rc)
    folds = check_folds(ws, adapter.load(), rc)
    run_dir = cv_run_dir(ws, entry.id, rc, adapter)[0]
    if forget and run_dir.exists():
        shutil.rmtree(run_dir)
    return folds


def run_experiment_fold(ws: Workspace, cfg: FvcConfig, rc: RunConfig, fold: int,
                        observers: list[TrainObserver] | None = None, force: bool = False) -> None:
    """One outer fold of ``run_experiment(rc)``, saved where ``run_experiment`` finds and reuses it.

    Executors (Ray tasks, Airflow mapped tasks, SLURM array jobs) compute the
    folds of many models at once with this; ``run_experiment`` in one process
    then gathers them, refits and logs, so each model keeps one parent run.
    ``force`` recomputes this fold only; to recompute a whole run, call
    ``experiment_folds(forget=True)`` before spreading its folds.
    """
    entry = get_model(rc.model)
    entry.preset(rc.preset, rc.params)
    adapter = make_adapter(entry, ws, rc)
    data = _load_rank0_first(adapter)
    if fold not in check_folds(ws, data, rc):
        raise InputError("--fold", f"fold {fold} is not one that {entry.id} runs")
    run_dir = cv_run_dir(ws, entry.id, rc, adapter)[0]
    fold_dir = run_dir / f"fold-{fold}"
    if force and fold_dir.exists():
        shutil.rmtree(fold_dir)
    run_fold(adapter, data, fold, fold_dir, CompositeObserver(observers or []))


def _load_rank0_first(adapter: FamilyAdapter) -> ExperimentData:
    """The adapter's data. Under DDP rank 0 loads first (building any clip cache alone); the others then read it."""
    main = is_main_process()
    data = adapter.load() if main else None
    sync_processes()
    return data if main else adapter.load()


def check_folds(ws: Workspace, data: ExperimentData, rc: RunConfig) -> list[int]:
    """The outer folds to run: all in splits, or those asked for; each must hold both classes to train on."""
    have = sorted(set(data.folds.tolist()))
    folds = list(rc.folds) if rc.folds is not None else have
    unknown = sorted(set(folds) - set(have))
    if unknown:
        raise InputError("--fold", f"fold(s) {unknown} not in splits (have {have})")
    if len(have) < 2:
        raise InputError(ws.table("splits"), f"needs at least 2 folds with labelled rows, has {len(have)}")
    for k in folds:
        train_labels = set(data.y[data.folds != k].tolist())
        if len(train_labels) < 2:
            raise InputError(ws.table("splits"), f"the training part of fold {k} holds one class only")
    return folds

