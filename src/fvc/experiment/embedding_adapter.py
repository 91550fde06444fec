"""XGBoost on deep embeddings (5f-5j) in the experiment loop.

Rows are videos; features are a deep backbone's per-video embeddings (mean
and std of its pooled clip features). Where the backbone comes from decides
how the embeddings may be computed without leaking the test fold:

- **pretrained weights** (the backbone's preset asks for them): the backbone
  is frozen and does not depend on the folds, so every video is embedded
  once, by the resumable ``fvc embed`` stage, and reused by every fold;
- **no weights** (``--no-pretrained``, smoke presets): inside each outer
  fold the backbone is the deep model's own fold model, trained by its
  adapter on that fold's training videos only and kept under the deep
  model's run folder (so ``fvc train --model 5d`` with the same settings
  finds it finished, and vice versa). That fold's train and test videos are
  embedded by it; XGBoost is fitted on the train part only.

Either way the estimator, the inner grouped search and class weighting are
5beta's (:mod:`.feature_adapter`), and the final model is the backbone plus
the Pipeline, saved together so that prediction needs nothing else.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..embed import NO_WEIGHTS, embed_videos, table_name
from ..errors import InputError
from ..models import ModelEntry, get_model
from ..models.saved import EmbeddingModel, ModelCard, save_embedding_model
from ..training.clips import clip_table
from ..training.embeddings import clip_embeddings, is_embedding_column, pool_videos
from ..training.events import TrainObserver
from ..training.search import SearchResult, grouped_search
from ..training.trainer import Trainer
from ..workspace import Workspace
from .adapter import META_COLUMNS, ExperimentData, cv_run_dir
from .deep_adapter import DeepAdapter, select_copies
from .feature_adapter import native_importance, sample_weights
from .run_config import RunConfig, default_run_config


class EmbeddingAdapter:
    """``fit_fold``/``predict_fold``/``refit_final`` for a tree model on a backbone's per-video embeddings."""

    def __init__(self, entry: ModelEntry, ws: Workspace, rc: RunConfig):
        self.entry, self.ws, self.rc = entry, ws, rc
        self.resolved = entry.preset(rc.preset, rc.params)
        self.data_config = entry.data_config(self.resolved)
        self.backbone = get_model(entry.data.backbone)
        own = inspect.signature(entry.builder).parameters
        self.backbone_params = {k: v for k, v in rc.params.items() if k not in own}
        self.pretrained = self.resolved["backbone"]["model"].get("weights") not in NO_WEIGHTS
        self.estimator = entry.build({**self.resolved["model"], "seed": rc.seed})
        self.grid = rc.grid or dict(self.resolved.get("grid", {}))
        # The backbone's own run: what `fvc train --model <backbone>` with these settings would run.
        self.backbone_rc = default_run_config(self.backbone.id, preset=rc.preset, seed=rc.seed, folds=rc.folds,
                                              params=self.backbone_params or None, device=rc.device,
                                              workers=rc.workers, ddp=rc.ddp)
        self.deep = DeepAdapter(self.backbone, ws, self.backbone_rc)
        self.tables = list(self.deep.tables)
        self.frozen = None
        self.X: pd.DataFrame | None = None

    # -- rows ---------------------------------------------------------------
    def load(self) -> ExperimentData:
        return self._load_frozen() if self.pretrained else self._load_per_fold()

    def _load_frozen(self) -> ExperimentData:
        """Embeddings of a frozen pretrained backbone, from (or into) the ``fvc embed`` table."""
        emb, _, self.frozen = embed_videos(self.ws, self.backbone.id, self.rc.preset, self.backbone_params)
        self.tables.append(table_name(self.backbone.id))
        rows = clip_table(self.ws, self.deep.source)
        rows = rows[rows["label"].notna() & (rows["fold"] >= 0)]
        rows = select_copies(rows, self.resolved["backbone"]["data"].get("copies_per_source"))
        rows = rows.assign(video_id=rows["video_id"].astype(str))
        emb = emb.assign(video_id=emb["video_id"].astype(str))
        cols = [c for c in emb.columns if is_embedding_column(c)]
        merged = rows.drop(columns=[c for c in cols if c in rows.columns]).merge(
            emb[["video_id", "error"] + cols].rename(columns={"error": "emb_error"}), on="video_id", how="left")
        bad = merged["emb_error"].notna() | merged[cols].isna().all(axis=1) if cols else merged["emb_error"].notna()
        failed = sorted(merged.loc[bad, "video_id"])
        merged = merged[~bad].reset_index(drop=True)
        if merged.empty or not cols:
            raise InputError(self.ws.table(table_name(self.backbone.id)), "no labelled video has an embedding")
        merged["group_id"] = merged["group_id"].astype(str) if "group_id" in merged else merged["source_video_id"]
        merged["label"] = merged["label"].astype(int)
        merged["fold"] = merged["fold"].astype(int)
        self.X = merged[cols].astype("float64").set_index(merged["video_id"].rename("row_id"))
        self.data = ExperimentData(meta=merged[META_COLUMNS].copy(), failed_ids=failed)
        return self.data

    def _load_per_fold(self) -> ExperimentData:
        """The backbone's clip rows; one row per video here, embeddings come per fold."""
        clips = self.deep.load()
        self.clip_meta = clips.meta
        meta = clips.meta.drop_duplicates("video_id").reset_index(drop=True)
        self.backbone_dir, self.backbone_key, _ = cv_run_dir(self.ws, self.backbone.id, self.backbone_rc, self.deep)
        self.data = ExperimentData(meta=meta[META_COLUMNS].copy(), failed_ids=clips.failed_ids)
        return self.data

    def key(self) -> Any:
        if self.pretrained:
            return {"mode": "frozen", "embeddings": self.frozen.key()}
        return {"mode": "per-fold", "backbone_run": self.backbone_key}

    # -- embeddings ------------------------------------------------------------
    def embed(self, model: Any) -> pd.DataFrame:
        """Per-video embeddings of every row by ``model``, in row order (index ``row_id`` = video id)."""
        ds = self.deep._dataset(np.arange(len(self.clip_meta)), train=False)
        trainer = Trainer(self.deep.tcfg, self.deep.device)
        feats, rows = clip_embeddings(model, trainer.loader(ds, False), trainer.device)
        videos = self.deep.cache.index.set_index("row").loc[rows, "video_id"].astype(str)
        pooled = pool_videos(feats, videos.tolist())
        order = self.data.meta["video_id"].astype(str)
        return pooled.loc[order].rename_axis("row_id")

    def _search(self, X: pd.DataFrame, pos: np.ndarray, observer: TrainObserver | None = None,
                fold: int = -1) -> SearchResult:
        d, rc = self.data, self.rc
        y = d.y[pos]
        w = sample_weights(y, rc.class_weight)
        on_point = (lambda p, s: observer.on_search_point(fold, p, s)) if observer is not None else None
        return grouped_search(self.estimator, self.grid, X.iloc[pos], y, d.groups[pos], inner_folds=rc.inner_folds,
                              seed=rc.seed, scoring=rc.scoring,
                              fit_params={"clf__sample_weight": w} if w is not None else None, on_point=on_point)

    # -- the adapter -------------------------------------------------------------
    def fit_fold(self, fold: int, train: np.ndarray, fold_dir: Path, observer: TrainObserver) -> tuple[Any, dict]:
        record: dict[str, Any] = {}
        if self.pretrained:
            X = self.X
        else:
            # the backbone's fold model, trained on exactly these training videos (never the test fold)
            videos = set(self.data.meta["video_id"].iloc[train].astype(str))
            clip_train = np.flatnonzero(self.clip_meta["video_id"].astype(str).isin(videos).to_numpy())
            model, record["backbone"] = self.deep.fit_fold(fold, clip_train, self.backbone_dir / f"fold-{fold}",
                                                           observer)
            X = self.embed(model)
        res = self._search(X, train, observer, fold)
        record.update(best_params=res.best_params, metrics={"inner_best_score": res.best_score})
        return (res.estimator, X), record

    def predict_fold(self, fitted: Any, test: np.ndarray, record: dict) -> pd.DataFrame:
        est, X = fitted
        prob = est.predict_proba(X.iloc[test])[:, 1]
        meta = self.data.meta.iloc[test]
        return meta[["video_id", "source_video_id", "label"]].assign(prob=prob).reset_index(drop=True)

    def refit_final(self, records: list[dict], final_dir: Path, observer: TrainObserver) -> tuple[Any, dict]:
        if self.pretrained:
            backbone, X, extra = self.frozen.model, self.X, {}
        else:
            backbone, extra = self.deep.refit_final([r.get("backbone") or {} for r in records],
                                                    self.backbone_dir / "final", observer)
            X = self.embed(backbone)
        res = self._search(X, np.arange(len(self.data.meta)))
        model = EmbeddingModel(self.entry.id, self.backbone.id, backbone.cpu().eval(), res.estimator, list(X.columns))
        return model, {"final_params": res.best_params, **{f"backbone_{k}": v for k, v in extra.items()}}

    def save_final(self, model: EmbeddingModel, folder: Path, card: ModelCard) -> Path:
        card.data = self.data_config.as_dict()
        card.model_kwargs = dict(self.frozen.model_kwargs if self.pretrained else self.deep.resolved["model"])
        return save_embedding_model(folder, model, card)

    def summary_extra(self, records: list[dict]) -> dict:
        folds = sorted(int(k) for k in set(self.data.folds.tolist()))
        out = {"best_params": {str(k): r.get("best_params") for k, r in zip(self.rc.folds or folds, records)},
               "backbone": self.backbone.id, "backbone_mode": "frozen" if self.pretrained else "per-fold",
               "backbone_preset": self.rc.preset, "clip": self.data_config.as_dict()["clip"]}
        if self.pretrained:
            out.update(weights=self.frozen.weights, weights_sha256=self.frozen.weights_sha256)
        else:
            out["backbone_run"] = str(self.backbone_dir)
        return out

    def importance(self, records: list[dict], final: Any) -> pd.DataFrame | None:
        if final is None:
            return None
        series = native_importance(final.pipeline, list(final.columns))
        if series is None:
            return None
        table = series.rename("importance").rename_axis("feature").reset_index()
        return table.sort_values("importance", ascending=False)
