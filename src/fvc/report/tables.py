"""The report's tables as plain data: the model comparison, confusion matrices and breakdowns.

Cells carry a display string and a sort value, so the page sorts numbers as
numbers and hashes as text, whatever the display looks like.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .collect import ModelResult
from .colours import auc_style, cell_style
from .stats import CHANCE_AUC, tie_groups, weighted_auc


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    compact: bool = False  # shown by default; the rest sit behind the "all columns" toggle
    numeric: bool = True
    title: str = ""


COLUMNS = [
    Column("rank", "#", True, title="rank by mean ROC-AUC"),
    Column("model", "model", True, False),
    Column("name", "name", True, False),
    Column("preset", "preset", True, False),
    Column("roc_auc", "ROC-AUC", True, title="mean over test folds \u00b1 standard deviation"),
    Column("ci", "95% CI", True, title="cascade-level bootstrap of the fold-mean ROC-AUC"),
    Column("pr_auc", "PR-AUC", True),
    Column("brier", "Brier", True, title="mean squared error of P(fake); lower is better"),
    Column("videos", "videos", True),
    Column("family", "family", numeric=False),
    Column("inputs", "inputs", numeric=False),
    Column("accuracy", "accuracy"),
    Column("balanced_accuracy", "bal. acc."),
    Column("precision", "precision"),
    Column("recall", "recall"),
    Column("f1", "F1"),
    Column("eer", "EER", title="equal error rate; lower is better"),
    Column("log_loss", "log loss"),
    Column("failed", "failed"),
    Column("config", "config", numeric=False, title="config hash (the run's identity)"),
    Column("run", "MLflow run", numeric=False),
]
COMPACT_MEAN_SD = ("pr_auc", "brier")
MEAN_SD = ("pr_auc", "brier", "accuracy", "balanced_accuracy", "precision", "recall", "f1", "eer", "log_loss")


@dataclass
class Row:
    cells: dict[str, tuple] = field(default_factory=dict)  # key -> (display, sort value[, hover text])
    best: bool = False
    chance: bool = False  # CI includes 0.5
    tie: int | None = None


def _num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)


def _mean_sd(m: dict, key: str) -> tuple[str, Any]:
    mean, sd = _num(m.get("mean", {}).get(key)), _num(m.get("std", {}).get(key))
    if mean is None:
        return "n/a", None
    return (f"{mean:.3f} \u00b1 {sd:.3f}" if sd is not None else f"{mean:.3f}"), mean


def ranked(models: list[ModelResult]) -> list[ModelResult]:
    """Highest mean ROC-AUC first; models without one last, by id."""
    return sorted(models, key=lambda r: (r.roc_auc is None, -(r.roc_auc or 0.0), r.id))


def model_rows(models: list[ModelResult]) -> list[Row]:
    """One row per model, in rank order, ties at three decimals marked."""
    order = ranked(models)
    ties = tie_groups([r.roc_auc for r in order])
    rows = []
    for i, (r, tie) in enumerate(zip(order, ties), start=1):
        m = r.metrics
        ci = r.ci
        row = Row(best=i == 1 and r.roc_auc is not None, chance=bool(ci and ci.includes_chance), tie=tie)
        row.cells = {
            "rank": (str(i), i), "model": (r.id, r.id), "name": (str(m.get("name") or ""), str(m.get("name") or "")),
            "preset": (str(m.get("preset") or ""), str(m.get("preset") or "")),
            "roc_auc": _mean_sd(m, "roc_auc"),
            "ci": ((f"{ci.low:.3f}\u2013{ci.high:.3f}", ci.low) if ci else ("n/a", None)),
            "videos": (str(m.get("n_videos", "")), m.get("n_videos")),
            "family": (str(m.get("family") or ""), str(m.get("family") or "")),
            "inputs": (str(m.get("inputs") or ""), str(m.get("inputs") or "")),
            "failed": (str(m.get("n_failed_videos", 0)), m.get("n_failed_videos", 0)),
            "config": (str(m.get("config_hash") or ""), str(m.get("config_hash") or "")),
            "run": ((r.run_id or "")[:12], r.run_id or ""),
        }
        for k in MEAN_SD:
            row.cells[k] = _mean_sd(m, k)
            if k not in COMPACT_MEAN_SD and row.cells[k][1] is not None:  # the toggle's columns: mean, sd on hover
                row.cells[k] = (f"{row.cells[k][1]:.3f}", row.cells[k][1], row.cells[k][0])
        rows.append(row)
    return rows


def confusion(r: ModelResult) -> dict[str, Any] | None:
    """Pooled OOF confusion matrix at the model's threshold, each cell with a readable fill/text pair."""
    p = r.metrics.get("pooled") or {}
    if not all(k in p for k in ("tn", "fp", "fn", "tp")):
        return None
    grid = [[int(p["tn"]), int(p["fp"])], [int(p["fn"]), int(p["tp"])]]
    # shaded by the share of the true class (row), so a minority class's errors show as clearly as the majority's
    cells = [[{"n": v, "share": v / (sum(row) or 1), "style": cell_style(v / (sum(row) or 1))} for v in row]
             for row in grid]
    return {"model": r.id, "cells": cells, "threshold": p.get("threshold", 0.5)}


def _auc(df: pd.DataFrame) -> float | None:
    if df["label"].nunique() < 2:
        return None
    return float(weighted_auc(df["label"].to_numpy(), df["prob"].to_numpy(), np.ones(len(df)))[0])


def _heat(v: float | None) -> dict[str, Any]:
    if v is None:
        return {"text": "\u2013", "style": "", "title": "one class only: no ROC-AUC"}
    return {"text": f"{v:.3f}", "style": auc_style(v, CHANCE_AUC), "title": ""}


RESOLUTIONS = ("\u2264240p", "360p", "480p", "720p", "1080p+")


def _bucket_order(values: list[str]) -> list[str]:
    """Resolution buckets from small to large, anything else alphabetically."""
    return sorted(values, key=lambda v: (RESOLUTIONS.index(v) if v in RESOLUTIONS else len(RESOLUTIONS), v))


def resolution_bucket(width: Any, height: Any) -> str:
    """Short side in the usual names: a 340x192 video is '240p or less'."""
    try:
        short = min(int(width), int(height))
    except (TypeError, ValueError):
        return "unknown"
    for limit, name in zip((240, 360, 480, 720), RESOLUTIONS):
        if short <= limit:
            return name
    return RESOLUTIONS[-1]


def breakdown(models: list[ModelResult], facts: pd.DataFrame, by: str, top: int = 6) -> dict[str, Any] | None:
    """ROC-AUC of the top models within each bucket of ``by`` (platform, codec, resolution)."""
    shown = [r for r in ranked(models) if r.oof is not None][:top]
    if not shown or by not in facts.columns:
        return None
    key = facts.set_index("video_id")[by]
    rows = []
    for bucket in _bucket_order(list(key.dropna().astype(str).unique())):
        cells, n_fake, n_real = [], 0, 0
        for r in shown:
            part = r.oof[r.oof["video_id"].map(key).astype(str) == bucket]
            n_fake, n_real = max(n_fake, int((part["label"] == 1).sum())), max(n_real, int((part["label"] == 0).sum()))
            cells.append(_heat(_auc(part)))
        rows.append({"bucket": bucket, "fake": n_fake, "real": n_real, "cells": cells})
    return {"by": by, "models": [r.id for r in shown], "rows": rows} if rows else None


def kind_breakdown(models: list[ModelResult], facts: pd.DataFrame, top: int = 6) -> dict[str, Any] | None:
    """Per manipulation kind: ROC-AUC of that kind's fakes against all real videos."""
    if "manipulation" not in facts.columns or facts["manipulation"].isna().all():
        return None
    shown = [r for r in ranked(models) if r.oof is not None][:top]
    if not shown:
        return None
    kind = facts.set_index("video_id")["manipulation"]
    kinds = sorted(k for k in kind.dropna().unique() if k != "none")
    rows = []
    for k in kinds:
        cells, n_fake = [], 0
        for r in shown:
            oof = r.oof.assign(kind=r.oof["video_id"].map(kind))
            part = oof[(oof["label"] == 0) | ((oof["label"] == 1) & (oof["kind"] == k))]
            n_fake = max(n_fake, int((part["label"] == 1).sum()))
            cells.append(_heat(_auc(part)))
        rows.append({"bucket": k, "fake": n_fake, "real": int((shown[0].oof["label"] == 0).sum()), "cells": cells})
    return {"by": "manipulation", "models": [r.id for r in shown], "rows": rows} if rows else None
