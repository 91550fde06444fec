"""Binary classification metrics shared by every model (feature and deep).

One function computes every number the reports and MLflow show, so a fold of a
logistic regression and a fold of a 3D CNN are measured the same way.
Undefined values (ROC-AUC on a one-class fold) are NaN, never a made-up number.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

METRIC_NAMES = (
    "accuracy", "balanced_accuracy", "precision", "recall", "f1",
    "roc_auc", "pr_auc", "eer", "log_loss", "brier",
)
CONFUSION_NAMES = ("tn", "fp", "fn", "tp")
_EPS = 1e-7


def equal_error_rate(y_true: np.ndarray, y_prob: np.ndarray) -> float:
    """Rate where false-positive and false-negative rates cross (interpolated on the ROC)."""
    y_true = np.asarray(y_true).astype(int)
    if len(np.unique(y_true)) < 2:
        return float("nan")
    fpr, tpr, _ = skm.roc_curve(y_true, y_prob)
    fnr = 1.0 - tpr
    diff = fpr - fnr
    i = int(np.argmax(diff >= 0))  # first point where fpr >= fnr (diff rises from -1 to +1)
    if i == 0:
        return float((fpr[0] + fnr[0]) / 2)
    # Linear interpolation between the two ROC points around the crossing.
    d0, d1 = diff[i - 1], diff[i]
    t = d0 / (d0 - d1) if d1 != d0 else 0.0
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


def binary_metrics(y_true: Iterable, y_prob: Iterable, threshold: float = 0.5) -> dict[str, Any]:
    """Every metric for one set of predictions; ``y_prob`` is P(fake)."""
    y = np.asarray(list(y_true)).astype(int)
    p = np.asarray(list(y_prob), dtype=float)
    if y.shape != p.shape:
        raise ValueError(f"y_true has {y.shape} values, y_prob has {p.shape}")
    if len(y) == 0:
        raise ValueError("no predictions to score")
    if not np.all(np.isfinite(p)):
        raise ValueError("y_prob contains NaN or infinite values")
    pred = (p >= threshold).astype(int)
    two_classes = len(np.unique(y)) == 2
    tn, fp, fn, tp = skm.confusion_matrix(y, pred, labels=[0, 1]).ravel()
    pc = np.clip(p, _EPS, 1 - _EPS)
    out: dict[str, Any] = {
        "n": int(len(y)),
        "n_pos": int(y.sum()),
        "accuracy": float(skm.accuracy_score(y, pred)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y, pred)) if two_classes else float("nan"),
        "precision": float(skm.precision_score(y, pred, zero_division=0)),
        "recall": float(skm.recall_score(y, pred, zero_division=0)),
        "f1": float(skm.f1_score(y, pred, zero_division=0)),
        "roc_auc": float(skm.roc_auc_score(y, p)) if two_classes else float("nan"),
        "pr_auc": float(skm.average_precision_score(y, p)) if y.sum() > 0 else float("nan"),
        "eer": equal_error_rate(y, p),
        "log_loss": float(skm.log_loss(y, pc, labels=[0, 1])),
        "brier": float(skm.brier_score_loss(y, p)),
        "threshold": float(threshold),
        "tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp),
    }
    return out


def summarize_folds(fold_metrics: list[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean and (sample) std over folds of every numeric metric, ignoring NaN folds."""
    if not fold_metrics:
        return {"mean": {}, "std": {}}
    keys = [k for k in fold_metrics[0] if k != "fold" and isinstance(fold_metrics[0][k], (int, float, np.number))]
    mean: dict[str, float] = {}
    std: dict[str, float] = {}
    for k in keys:
        vals = np.array([float(m.get(k, float("nan"))) for m in fold_metrics], dtype=float)
        vals = vals[np.isfinite(vals)]
        mean[k] = float(vals.mean()) if len(vals) else float("nan")
        std[k] = float(vals.std(ddof=1)) if len(vals) > 1 else (0.0 if len(vals) else float("nan"))
    return {"mean": mean, "std": std}


def aggregate_by_video(
    df: pd.DataFrame, key: str = "source_video_id", prob: str = "prob", label: str = "label"
) -> pd.DataFrame:
    """Mean probability over all rows (clips, augmented copies) of one source video.

    A source video is one decision: scoring its ten augmented copies as ten
    videos would count it ten times. Other columns that are constant per video
    (fold, label) are kept; ``n_rows`` says how many rows were averaged.
    """
    if key not in df.columns:
        raise ValueError(f"cannot aggregate: column '{key}' missing")
    agg: dict[str, Any] = {prob: (prob, "mean"), "n_rows": (prob, "size")}
    if label in df.columns:
        agg[label] = (label, "first")
    if "fold" in df.columns:
        agg["fold"] = ("fold", "first")
    out = df.groupby(key, sort=True).agg(**agg).reset_index()
    if label in df.columns:
        nuniq = df.groupby(key)[label].nunique()
        bad = nuniq[nuniq > 1]
        if len(bad):
            raise ValueError(f"source video '{bad.index[0]}' has rows with different labels")
    return out


def json_safe(obj: Any) -> Any:
    """Replace NaN/inf by None recursively, so metrics.json is strict JSON."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj
