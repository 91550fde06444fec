"""An append-only JSONL experiment log: one file per model run, no MLflow needed.

Each line is one event ``{ts, run_id, event, model_id, fold, grid_index,
epoch, data}``, flushed as written, so a crashed run leaves a readable log up
to its last event. ``fvc query`` exposes the files as ``experiment_log``.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any, TextIO

from ..analytics.views import EXPERIMENT_LOG_DIR
from ..training.events import TrainObserver
from ..workspace import Workspace


def _jsonable(obj: Any) -> Any:
    """JSON-safe copy: paths as text, NaN/inf as null (JSON has no NaN), numpy scalars as numbers."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        try:
            obj = obj.item()
        except (TypeError, ValueError):
            return str(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    return str(obj)


def log_dir(ws: Workspace) -> Path:
    return ws.root / EXPERIMENT_LOG_DIR


class JsonlObserver(TrainObserver):
    """Writes every training event to ``<workspace>/experiments/<run_id>.jsonl``."""

    def __init__(self, ws: Workspace, prefix: str | None = None):
        self.ws = ws
        self.prefix = prefix or time.strftime("%Y%m%dT%H%M%S")
        self.run_id: str | None = None
        self.model_id: str | None = None
        self.path: Path | None = None
        self._fh: TextIO | None = None
        self._grid_index: dict[int, int] = {}

    # -- writing ----------------------------------------------------------
    def _write(self, event: str, data: dict[str, Any] | None = None, **keys: Any) -> None:
        if self._fh is None:
            return
        line = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S"), "run_id": self.run_id, "event": event,
                "model_id": self.model_id, "fold": keys.get("fold"), "grid_index": keys.get("grid_index"),
                "epoch": keys.get("epoch"), "data": _jsonable(data or {})}
        self._fh.write(json.dumps(line, allow_nan=False) + "\n")
        self._fh.flush()

    def _close(self) -> None:
        if self._fh is not None:
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None

    # -- events -----------------------------------------------------------
    def on_run_start(self, model_id, run_config, data_fingerprint, tables=None):
        self._close()
        self.model_id = model_id
        config_hash = run_config.hash() if hasattr(run_config, "hash") else None
        self.run_id = f"{self.prefix}-{model_id}-{config_hash or 'nohash'}"
        self.path = log_dir(self.ws) / f"{self.run_id}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("a", encoding="utf-8")
        self._grid_index = {}
        config = run_config.model_dump(mode="json") if hasattr(run_config, "model_dump") else run_config
        self._write("run_start", {"config": config, "config_hash": config_hash,
                                  "data_fingerprint": data_fingerprint, "tables": dict(tables or {})})

    def on_fold_start(self, fold):
        self._write("fold_start", fold=fold)

    def on_epoch_end(self, fold, epoch, metrics):
        self._write("epoch_end", dict(metrics), fold=fold, epoch=epoch)

    def on_search_point(self, fold, params, score):
        i = self._grid_index.get(fold, 0)
        self._grid_index[fold] = i + 1
        self._write("search_point", {"params": dict(params), "score": score}, fold=fold, grid_index=i)

    def on_fold_end(self, fold, metrics, artifacts):
        self._write("fold_end", {"metrics": dict(metrics), "artifacts": dict(artifacts)}, fold=fold)

    def on_run_end(self, summary, final_model_path, artifacts):
        keep = {k: summary.get(k) for k in ("mean", "std", "pooled", "n_rows", "n_videos", "n_failed_videos")
                if k in summary}
        self._write("run_end", {**keep, "final_model": final_model_path, "artifacts": dict(artifacts)})
        self._close()

    def on_run_error(self, model_id, error):
        self._write("run_error", {"error": f"{type(error).__name__}: {error}"})
        self._close()


def read_log(path: str | Path) -> list[dict[str, Any]]:
    """All events of one log file (for tests and tools; DuckDB reads them for queries)."""
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
