"""Where a model's training videos lie in stage-2 feature space, kept in its card.

A model trained on one corpus scores videos from another with confidence it
has not earned (a model of the generated corpus calls real clips "fake" at
0.9-1.0). The card therefore keeps a compact, robust summary of the stage-2
features of the original videos it was trained on, whatever the model's own
inputs (features, clips or embeddings): per column the median and a robust
spread. ``fvc explain`` measures a new video against it and warns when the
video lies far outside, so one check serves every model family.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

RMS_Z = 3.0  # floors of the thresholds: root-mean-square robust z over all columns (training videos sit near 1)
MAX_Z = 10.0  # and one column this far out
MARGIN = 1.5  # thresholds are this times the training videos' own 99th percentile, never below the floors
Z_CAP = 1e3  # a column constant in training turns any change into a huge z: cap it so the RMS stays readable
IQR_TO_SIGMA = 1.349  # the IQR of a normal distribution in standard deviations
METHOD = "robust z-scores (median, IQR/1.349) against the stage-2 features of the model's training videos"


def summarize(rows: pd.DataFrame, columns: list[str]) -> dict[str, Any]:
    """Median and robust spread per column of ``rows`` (training videos); NaNs ignored."""
    X = rows[columns].apply(pd.to_numeric, errors="coerce").astype("float64")
    median = X.median()
    iqr = X.quantile(0.75) - X.quantile(0.25)
    spread = (iqr / IQR_TO_SIGMA).where(iqr > 0, X.std(ddof=0))
    floor = 1e-3 * np.maximum(1.0, median.abs())  # constant in training: any difference is far
    spread = spread.where(spread > 0, floor).fillna(floor)
    keep = [c for c in columns if pd.notna(median[c])]
    summary = {"method": METHOD, "n_videos": int(len(X)), "columns": keep,
               "median": [float(median[c]) for c in keep], "spread": [float(spread[c]) for c in keep]}
    # Calibrate on the training videos themselves: real feature sets are heavy-tailed, so fixed cut-offs
    # flag one training video in seven; 1.5x their own 99th percentile flags 1-2% of fresh videos of the
    # same kind (measured on generated corpora of seeds 1, 2, 7).
    own = [_z(summary, r) for r in X[keep].to_numpy()]
    rms = [float(np.sqrt(np.mean(z[np.isfinite(z)] ** 2))) for z in own if np.isfinite(z).any()]
    top = [float(np.max(np.abs(z[np.isfinite(z)]))) for z in own if np.isfinite(z).any()]
    summary["thresholds"] = {"rms_z": max(RMS_Z, MARGIN * float(np.quantile(rms, 0.99))) if rms else RMS_Z,
                             "max_z": max(MAX_Z, MARGIN * float(np.quantile(top, 0.99))) if top else MAX_Z}
    return summary


def _z(summary: Mapping[str, Any], x: np.ndarray) -> np.ndarray:
    """Robust z per summarised column (NaN where unmeasured), capped at ``Z_CAP``."""
    z = (x - np.asarray(summary["median"])) / np.asarray(summary["spread"])
    return np.clip(z, -Z_CAP, Z_CAP)


def unavailable(reason: str) -> dict[str, Any]:
    return {"available": False, "warning": False, "reason": reason}


def distance(summary: Mapping[str, Any], row: Mapping[str, Any], top: int = 5) -> dict[str, Any]:
    """How far one video's features lie from the training videos, and whether that makes the verdict unreliable."""
    if not summary or not summary.get("columns"):
        return unavailable("the model card holds no summary of its training videos (saved by an older fvc or "
                           "trained without a stage-2 features table); retrain to get the check")
    cols = list(summary["columns"])
    z = _z(summary, np.array([_number(row.get(c)) for c in cols]))
    seen = np.isfinite(z)
    if not seen.any():
        return unavailable("none of the summarised features could be measured on this video")
    z = np.where(seen, z, 0.0)
    rms, worst = float(np.sqrt(np.mean(z[seen] ** 2))), float(np.max(np.abs(z)))
    limits = summary.get("thresholds") or {"rms_z": RMS_Z, "max_z": MAX_Z}
    warn = rms > limits["rms_z"] or worst > limits["max_z"]
    order = np.argsort(-np.abs(z))[:top]
    return {"available": True, "warning": bool(warn), "rms_z": rms, "max_z": worst,
            "thresholds": dict(limits), "method": summary.get("method", METHOD),
            "n_training_videos": summary.get("n_videos"), "n_features": int(seen.sum()),
            "message": ("this video's features lie far outside the training videos: the verdict is unreliable"
                        if warn else "features within the range of the training videos"),
            "farthest": [{"feature": cols[j], "z": float(z[j])} for j in order]}


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")
