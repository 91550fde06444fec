"""Training events -> MLflow: a parent run per model, nested runs per fold and grid point.

Uses ``MlflowClient`` with explicit run ids rather than the fluent
``start_run`` stack, so nested runs never depend on which run happens to be
"active" and an exception in a fold cannot leave a run open.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..training.events import TrainObserver
from ..training.metrics import aggregate_by_video
from ..workspace import Workspace
from .fingerprint import git_commit, package_version
from .mlflow_store import DEFAULT_EXPERIMENT, WORKSPACE_TAG, TrackingStore, close_orphaned_runs, open_store
from .export import export_runs
from .model_registry import log_final_model, warm_up
from .plots import confusion_png, roc_png

PARAM_MAX = 6000  # MLflow's limit on a param value
PLOTS_DIR = "plots"
MANIFEST = "checkpoints.json"  # fvc.training.checkpoints.MANIFEST (not imported: that module loads torch)


def flatten_params(obj: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested config -> ``{"a.b": "value"}``; lists as JSON; values cut to MLflow's limit."""
    out: dict[str, str] = {}
    for key, value in obj.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            out.update(flatten_params(value, name))
        else:
            text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
            out[name] = text[:PARAM_MAX]
    return out


def numeric_metrics(metrics: Mapping[str, Any], prefix: str = "", suffix: str = "") -> dict[str, float]:
    """The numeric entries of a metrics dict (counts, rates; NaN kept, text dropped)."""
    out = {}
    for k, v in metrics.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) and not hasattr(v, "__float__"):
            continue
        try:
            out[f"{prefix}{k}{suffix}"] = float(v)
        except (TypeError, ValueError):
            continue
    return out


def fold_checkpoint_dir(artifacts: Mapping[str, Any]) -> Path | None:
    """A deep fold's checkpoint folder: ``checkpoint_dir`` if given, else ``ckpt/`` beside its predictions.

    The experiment loop writes ``<root>/fold-k/oof.parquet`` and the deep adapter trains with
    ``checkpoint_dir=<root>/fold-k/ckpt``; the folder counts only if the
    trainer's manifest is there.
    """
    given = artifacts.get("checkpoint_dir")
    preds = artifacts.get("fold_predictions")
    for cand in (given, Path(preds).parent / "ckpt" if preds is not None else None):
        if cand is not None and (Path(cand) / MANIFEST).exists():
            return Path(cand)
    return None


def checkpoint_tags(ckpt_dir: Path) -> dict[str, str]:
    """Run tags for a checkpoint folder from its ``checkpoints.json``: folder, best file, epoch, metric, last."""
    try:
        manifest = json.loads((ckpt_dir / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        return {"fvc.checkpoint_dir": str(ckpt_dir), "fvc.checkpoint_error": f"{type(exc).__name__}: {exc}"[:500]}
    tags = {"fvc.checkpoint_dir": str(ckpt_dir)}
    best = manifest.get("best")
    if best:
        tags["fvc.best_checkpoint"] = str(ckpt_dir / best["file"])
        tags["fvc.best_checkpoint_epoch"] = str(best.get("epoch"))
        if best.get("metric") is not None:
            tags["fvc.best_checkpoint_metric"] = str(best["metric"])
    kept = manifest.get("checkpoints") or []
    if kept:
        tags["fvc.last_checkpoint"] = str(ckpt_dir / kept[-1]["file"])
    return tags


class MlflowObserver(TrainObserver):
    """Logs every ``fvc train`` run to the workspace's MLflow store (or ``tracking_uri``)."""

    def __init__(self, ws: Workspace, tracking_uri: str | None = None, experiment: str = DEFAULT_EXPERIMENT,
                 register: bool = True, export: bool = True, store: TrackingStore | None = None,
                 say: Callable[[str], Any] | None = None):
        self.ws = ws
        self.say = say  # one line per registered model (MLflow's own registry messages are silenced)
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.register = register
        self.export = export
        self.store = store
        self.parent_id: str | None = None
        self.model_id: str | None = None
        self.fold_runs: dict[int, str] = {}
        self.grid_counts: dict[int, int] = {}
        self.logged_model = None  # model_registry.LoggedModel of the last run
        self._base_params: dict[str, str] = {}
        self._warm = None
        self._ckpt_root: Path | None = None

    # -- helpers ----------------------------------------------------------
    @property
    def client(self):
        return self.store.client

    def _create(self, name: str, parent: str | None, tags: dict[str, str]) -> str:
        all_tags = {"fvc.model_id": self.model_id or "", "fvc.git_commit": git_commit(),
                    "fvc.version": package_version(), "mlflow.source.git.commit": git_commit(),
                    WORKSPACE_TAG: str(self.ws.root), **tags}
        if parent:
            all_tags["mlflow.parentRunId"] = parent
        run = self.client.create_run(self.store.experiment_id, run_name=name, tags=all_tags)
        return run.info.run_id

    def _log(self, run_id: str, metrics: Mapping[str, float] | None = None, params: Mapping[str, str] | None = None,
             tags: Mapping[str, str] | None = None, step: int = 0) -> None:
        from mlflow.entities import Metric, Param, RunTag

        ts = int(time.time() * 1000)
        m = [Metric(k, float(v), ts, step) for k, v in (metrics or {}).items()]
        p = [Param(k, str(v)) for k, v in (params or {}).items()]
        t = [RunTag(k, str(v)) for k, v in (tags or {}).items()]
        # log_batch limits: 100 params, 100 tags, 1000 entities per call.
        for i in range(0, len(p), 100):
            self.client.log_batch(run_id, params=p[i:i + 100])
        for i in range(0, len(t), 100):
            self.client.log_batch(run_id, tags=t[i:i + 100])
        for i in range(0, len(m), 900):
            self.client.log_batch(run_id, metrics=m[i:i + 900])

    def _fold_run(self, fold: int) -> str:
        if fold not in self.fold_runs:
            # The deep trainer reports the final refit on all folds as fold -1.
            kind, name = ("final", f"{self.model_id}-final") if fold < 0 else ("fold", f"{self.model_id}-fold{fold}")
            self.fold_runs[fold] = self._create(name, self.parent_id, {"fvc.kind": kind, "fvc.fold": str(fold)})
            self._log(self.fold_runs[fold], params={**self._base_params, "fold": str(fold)})
        return self.fold_runs[fold]

    def _log_artifacts(self, run_id: str, artifacts: Mapping[str, Path], skip: tuple[str, ...] = ()) -> None:
        """Copy result files into the run; checkpoints are referenced by path (they are large)."""
        ckpt = {}
        for name, path in artifacts.items():
            if name in skip or path is None:
                continue
            path = Path(path)
            if "checkpoint" in name or path.suffix in (".pt", ".pth", ".ckpt"):
                ckpt[f"fvc.{name}"] = str(path)
            elif path.is_dir():
                self.client.log_artifacts(run_id, str(path), artifact_path=name)
            elif path.exists():
                self.client.log_artifact(run_id, str(path))
        if ckpt:
            self._log(run_id, tags=ckpt)

    def close_orphans(self) -> list[str]:
        """Runs a killed process left ``RUNNING`` -> ``KILLED`` (call only while holding the workspace lock)."""
        self._open()
        return close_orphaned_runs(self.store)

    def _open(self) -> None:
        if self.store is None:
            self.store = open_store(self.ws, self.tracking_uri, self.experiment)

    # -- events -----------------------------------------------------------
    def on_run_start(self, model_id, run_config, data_fingerprint, tables=None):
        self._open()
        self.model_id = model_id
        self.fold_runs, self.grid_counts, self.logged_model, self._ckpt_root = {}, {}, None, None
        if self.register and self._warm is None:
            self._warm = warm_up()  # overlaps MLflow's one-time package scan with training
        config = run_config.model_dump(mode="json") if hasattr(run_config, "model_dump") else dict(run_config)
        config_hash = run_config.hash() if hasattr(run_config, "hash") else ""
        self._base_params = {"config_hash": config_hash, "data_fingerprint": data_fingerprint}
        preset = getattr(run_config, "preset", None) or ""
        self.parent_id = self._create(model_id, None, {"fvc.kind": "model", "fvc.config_hash": config_hash,
                                                       "fvc.preset": preset})
        table_params = {f"data.{k}": v for k, v in (tables or {}).items()}
        self._log(self.parent_id, params={**flatten_params(config), **self._base_params, **table_params})

    def on_fold_start(self, fold):
        self._fold_run(fold)

    def on_epoch_end(self, fold, epoch, metrics):
        self._log(self._fold_run(fold), metrics=numeric_metrics(metrics), step=int(epoch))

    def on_search_point(self, fold, params, score):
        parent = self._fold_run(fold)
        i = self.grid_counts.get(fold, 0)
        self.grid_counts[fold] = i + 1
        run_id = self._create(f"{self.model_id}-fold{fold}-grid{i}", parent,
                              {"fvc.kind": "grid", "fvc.fold": str(fold), "fvc.grid_index": str(i)})
        score = float(score) if score is not None else math.nan
        self._log(run_id, metrics={"inner_cv_score": score}, params={**flatten_params(dict(params)),
                                                                      **self._base_params})
        self.client.set_terminated(run_id, "FINISHED")
        self._log(parent, metrics={"inner_cv_score": score}, step=i)

    def on_fold_end(self, fold, metrics, artifacts):
        run_id = self._fold_run(fold)
        values = numeric_metrics(metrics)
        self._log(run_id, metrics=values)
        self._log(self.parent_id, metrics=numeric_metrics(metrics, prefix="fold_"), step=int(fold))
        self._log_artifacts(run_id, artifacts)
        ckpt_dir = fold_checkpoint_dir(artifacts)
        if ckpt_dir is not None:
            self._log(run_id, tags=checkpoint_tags(ckpt_dir))
            self._ckpt_root = ckpt_dir.parent.parent  # <root>/fold-k/ckpt: the final refit is <root>/final/ckpt
        self.client.set_terminated(run_id, "FINISHED")

    def on_run_end(self, summary, final_model_path, artifacts):
        summary = dict(summary)
        metrics = {}
        metrics.update(numeric_metrics(summary.get("mean") or {}, suffix="_mean"))
        metrics.update(numeric_metrics(summary.get("std") or {}, suffix="_std"))
        metrics.update(numeric_metrics(summary.get("pooled") or {}, prefix="pooled_"))
        metrics.update(numeric_metrics({k: summary[k] for k in ("n_rows", "n_videos", "n_failed_videos")
                                        if k in summary}))
        tags = {k: str(summary[k]) for k in ("family", "level") if summary.get(k) is not None}
        self._log(self.parent_id, metrics=metrics, tags={f"fvc.{k}": v for k, v in tags.items()})
        self._log_artifacts(self.parent_id, artifacts, skip=("model",))
        self._log_plots(summary, artifacts)
        final_ckpt = self._ckpt_root / "final" / "ckpt" if self._ckpt_root is not None else None
        if final_ckpt is not None and (final_ckpt / MANIFEST).exists() and -1 in self.fold_runs:
            self._log(self.fold_runs[-1], tags=checkpoint_tags(final_ckpt))
        if final_model_path is not None and self._loggable(final_model_path):
            if self._warm is not None:
                self._warm.join()  # a run shorter than the scan waits here, not inside log_model
            self.logged_model = log_final_model(self.store, self.parent_id, self.model_id, Path(final_model_path),
                                                summary, register=self.register)
            self._log(self.parent_id, metrics={"log_model_seconds": self.logged_model.seconds},
                      tags={"fvc.registered_model": f"{self.logged_model.name}/{self.logged_model.version}"})
            if self.say is not None and self.logged_model.version:
                self.say(f"registered {self.logged_model.name} version {self.logged_model.version} "
                         f"(models:/{self.logged_model.name}/{self.logged_model.version})")
        elif final_model_path is not None:
            self._log(self.parent_id, tags={"fvc.final_model": str(final_model_path)})
        self._finish("FINISHED")

    def on_run_error(self, model_id, error):
        if self.parent_id is None:
            return
        msg = f"{type(error).__name__}: {error}"[:5000]
        self._log(self.parent_id, tags={"fvc.error": msg})
        self._finish("FAILED")

    # -- end of run -------------------------------------------------------
    @staticmethod
    def _loggable(path: Path) -> bool:
        """Feature models (joblib) and deep models (model.pt) become pyfuncs; anything else is referenced by path."""
        return Path(path).suffix in (".joblib", ".pt")

    def _log_plots(self, summary: dict[str, Any], artifacts: Mapping[str, Path]) -> None:
        oof_path = artifacts.get("oof_predictions")
        if oof_path is None or not Path(oof_path).exists():
            return
        oof = pd.read_parquet(oof_path)
        if summary.get("level", "video") == "video" and "source_video_id" in oof.columns:
            oof = aggregate_by_video(oof, key="source_video_id")
        oof = oof.dropna(subset=["label", "prob"])
        if oof.empty:
            return
        out = self.ws.cache_dir / "mlflow-plots" / self.parent_id
        threshold = float((summary.get("run_config") or {}).get("threshold", 0.5))
        title = str(self.model_id)
        roc = roc_png(oof["label"], oof["prob"], out / "roc.png", title=f"{title} OOF ROC")
        cm = confusion_png(oof["label"], oof["prob"], out / "confusion_matrix.png", threshold, title=title)
        for path in (roc, cm):
            self.client.log_artifact(self.parent_id, str(path), artifact_path=PLOTS_DIR)

    def _finish(self, status: str) -> None:
        for run_id in self.fold_runs.values():
            if self.client.get_run(run_id).info.status == "RUNNING":
                self.client.set_terminated(run_id, status)
        self.client.set_terminated(self.parent_id, status)
        if self.export and self.store.is_local:
            export_runs(self.ws, self.store)
        self.parent_id = None
