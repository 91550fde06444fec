"""Grouped cross-validation for deep models, on the same folds, metrics and result layout as feature models.

For each outer fold: train on the other folds (a grouped 15% of their
cascade groups held out for early stopping, never the test fold), predict
every clip of the test fold, average clips per video, score with the shared
``binary_metrics``. Results go through ``build_summary`` / ``save_cv_result``
so reports, MLflow and queries see one shape. Each fold checkpoints every
epoch, and a finished fold's predictions are kept: a re-run with the same
config resumes where it stopped.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import GroupShuffleSplit

from ..config import stable_hash
from ..errors import InputError
from ..workspace import atomic_path, atomic_write_text
from .clips import ClipCache, ClipSpec, build_clip_cache, clip_table, failed_videos
from .dataset import ClipDataset
from .metrics import json_safe
from .results import CVResult, build_summary, result_dir, save_cv_result, score_oof
from .run_config import TrainContext, data_fingerprint
from .trainer import Trainer, TrainConfig, predict_logits, seed_everything

MODEL_FILE = "model.pt"
MODEL_META = "model.json"
VAL_SHARE = 0.15


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def inner_split(index: pd.DataFrame, rows: np.ndarray, seed: int, share: float = VAL_SHARE) -> tuple[np.ndarray, np.ndarray]:
    """Split training rows into (fit, val) by cascade group, so no group is in both."""
    if share <= 0:
        return rows, np.array([], dtype=np.int64)
    part = index.set_index("row").loc[rows]
    groups = (part["group_id"] if "group_id" in part.columns else part["source_video_id"]).astype(str).to_numpy()
    if len(np.unique(groups)) < 4:
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


def clip_predictions(model, cache: ClipCache, rows: np.ndarray, trainer: Trainer) -> pd.DataFrame:
    """Per-video mean fake probability over its clips (rows of the cache)."""
    ds = ClipDataset(cache, rows, train=False)
    logits, _, got_rows = predict_logits(model, trainer.loader(ds, False), trainer.device)
    idx = cache.index.set_index("row").loc[got_rows].reset_index()
    idx["prob"] = _sigmoid(logits.astype(np.float64))
    keep = [c for c in ("video_id", "source_video_id", "fold", "label") if c in idx.columns]
    return idx.groupby(keep, sort=True, dropna=False)["prob"].mean().reset_index()


def save_deep_model(path: Path, model_def_id: str, resolved: dict[str, Any], model, config_hash: str,
                    extra: dict[str, Any] | None = None) -> Path:
    """Weights + everything needed to rebuild the model and its clip pipeline (pretrained weights not needed)."""
    model_kwargs = dict(resolved["model"])
    if "pretrained" in model_kwargs:
        model_kwargs["pretrained"] = False  # the weights are in this file
    payload = {"model_id": model_def_id, "model_kwargs": model_kwargs, "clip": resolved["clip"],
               "config_hash": config_hash, "state_dict": model.state_dict(), "kind": "fvc-deep", **(extra or {})}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    meta = {k: v for k, v in payload.items() if k != "state_dict"}
    atomic_write_text(path.with_name(MODEL_META), json.dumps(json_safe(meta), indent=2, default=str))
    return path


def load_deep_model(path: str | Path):
    """(model in eval mode, ClipSpec, payload) from a file written by ``save_deep_model``."""
    from ..models.deep.catalog import get_def

    path = Path(path)
    if not path.exists():
        raise InputError(path, "deep model file not found; run 'fvc train' first")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise InputError(path, f"cannot load deep model ({type(exc).__name__}: {exc})") from exc
    if not isinstance(payload, dict) or payload.get("kind") != "fvc-deep":
        raise InputError(path, "not a deep model saved by fvc train")
    d = get_def(payload["model_id"])
    model = d.build(payload["model_kwargs"])
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[1].strip() if "\n" in str(exc) else str(exc)
        raise InputError(path, f"weights do not fit model {d.id} as defined now ({first[:120]}); retrain it") from exc
    model.eval()
    return model, ClipSpec(**payload["clip"]), payload


def run_deep_cv(model_def, ctx: TrainContext) -> CVResult:
    """``ModelSpec.run_cv`` for every deep model."""
    rc, ws, obs = ctx.run_config, ctx.ws, ctx.observers
    resolved = model_def.preset(rc.preset, rc.params)
    source = resolved["data"].get("source", "scaled")
    tcfg = TrainConfig.from_dict({**resolved["train"], "seed": rc.seed})
    spec = ClipSpec(**resolved["clip"])
    config_hash = rc.hash()
    obs.on_run_start(model_def.id, rc, data_fingerprint(ws, [source, "splits"]))
    try:
        return _run(model_def, ctx, source, resolved, tcfg, spec, config_hash)
    except BaseException as exc:
        obs.on_run_error(model_def.id, exc)
        raise


def _run(model_def, ctx, source, resolved, tcfg, spec, config_hash) -> CVResult:
    rc, ws, obs = ctx.run_config, ctx.ws, ctx.observers
    table = clip_table(ws, source)
    model_def.build(resolved["model"])  # fail fast (e.g. missing pretrained weights) before decoding any video
    table = table[table["label"].notna() & (table["fold"] >= 0)]
    table = select_copies(table, resolved["data"].get("copies_per_source"))
    if table.empty:
        raise InputError(ws.table(source), "no labelled rows with a fold to train on")
    cache = build_clip_cache(table, spec, ws.cache_dir / "clips", ws)
    failed = failed_videos(cache)
    index = cache.index
    if index.empty:
        raise InputError(ws.table(source), "no video could be decoded into clips")
    device = resolved["data"].get("device") or ("cuda" if torch.cuda.is_available() else "cpu")
    trainer = Trainer(tcfg, device)
    run_key = stable_hash({"run": config_hash, "cache": cache.meta["key"], "resolved": resolved, "v": 1})
    ckpt_root = ws.artifacts_dir / "checkpoints" / model_def.id / run_key
    if ctx.force and ckpt_root.exists():
        import shutil

        shutil.rmtree(ckpt_root)
    folds = rc.folds if rc.folds is not None else sorted(int(f) for f in index["fold"].unique())
    oof_parts, fold_metrics, best_epochs = [], [], []
    for k in folds:
        obs.on_fold_start(k)
        fold_dir = ckpt_root / f"fold-{k}"
        done = fold_dir / "oof.parquet"
        test_rows = index.loc[index["fold"] == k, "row"].to_numpy()
        if len(test_rows) == 0:
            raise InputError(ws.table("splits"), f"fold {k} has no videos")
        if done.exists() and not ctx.force:
            pred = pd.read_parquet(done)
            best_epochs.append(json.loads((fold_dir / "fit.json").read_text()).get("best_epoch") or 0)
        else:
            train_rows = index.loc[index["fold"] != k, "row"].to_numpy()
            fit_rows, val_rows = inner_split(index, train_rows, rc.seed + k,
                                             float(resolved["data"].get("val_share", VAL_SHARE)))
            seed_everything(rc.seed + k)
            model = model_def.build(resolved["model"])
            fit = trainer.fit(model, ClipDataset(cache, fit_rows, train=True),
                              ClipDataset(cache, val_rows) if len(val_rows) else None,
                              checkpoint_dir=fold_dir / "ckpt", observer=obs, fold=k)
            pred = clip_predictions(model, cache, test_rows, trainer)
            atomic_write_text(fold_dir / "fit.json", json.dumps(json_safe(
                {"best_epoch": fit.best_epoch, "best_metric": fit.best_metric, "stopped_early": fit.stopped_early,
                 "history": fit.history}), indent=1))
            with atomic_path(done) as tmp:
                pred.to_parquet(tmp, index=False)
            best_epochs.append(fit.best_epoch or 0)
        m = score_oof(pred.assign(fold=int(k)), video_level=rc.video_level, threshold=rc.threshold)[0][0]
        fold_metrics.append(m)
        obs.on_fold_end(k, {kk: v for kk, v in m.items() if kk != "fold"}, {"fold_predictions": done})
        oof_parts.append(pred.assign(fold=int(k)))
    oof = pd.concat(oof_parts, ignore_index=True)
    oof["label"] = oof["label"].astype(int)
    final_path = None
    rdir = result_dir(ws, model_def.id)
    if rc.refit_final:
        # Refit on every labelled video, for the median number of epochs early stopping chose.
        epochs = int(np.median(best_epochs)) + 1 if best_epochs else tcfg.epochs
        final_cfg = TrainConfig.from_dict({**asdict(tcfg), "epochs": max(1, min(epochs, tcfg.epochs))})
        seed_everything(rc.seed)
        model = model_def.build(resolved["model"])
        Trainer(final_cfg, device).fit(model, ClipDataset(cache, index["row"].to_numpy(), train=True),
                                       checkpoint_dir=ckpt_root / "final" / "ckpt", observer=obs, fold=-1)
        final_path = save_deep_model(rdir / MODEL_FILE, model_def.id, resolved, model, config_hash,
                                     {"epochs": final_cfg.epochs, "preset": rc.preset})
    summary = build_summary(
        model_def.id, oof, config_hash=config_hash, run_config=rc, spec=ctx.spec, video_level=rc.video_level,
        threshold=rc.threshold, n_failed_videos=len(failed), failed_video_ids=failed["video_id"].tolist(),
        extra={"preset": rc.preset, "clip": asdict(spec), "train": asdict(tcfg), "model": resolved["model"],
               "clips": int(len(index)), "best_epochs": best_epochs},
    )
    arts = save_cv_result(ws, summary, oof[["video_id", "source_video_id", "fold", "label", "prob"]], rc, final_path)
    obs.on_run_end(summary, final_path, arts)
    return CVResult(model_id=model_def.id, config_hash=config_hash, fold_metrics=summary["folds"],
                    mean=summary["mean"], std=summary["std"], oof=oof, n_failed_videos=len(failed),
                    final_model_path=final_path, result_dir=rdir, summary=summary, artifacts=arts)
