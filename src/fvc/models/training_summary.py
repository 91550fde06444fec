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

RMS_Z = 3.0  # root-mean-square robust z over all columns; training videos sit near 1
MAX_Z = 10.0  # one column this far out also counts
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
    keep = median.notna()
    return {"method": METHOD, "n_videos": int(len(X)), "columns": [c for c in columns if keep[c]],
            "median": [float(median[c]) for c in columns if keep[c]],
            "spread": [float(spread[c]) for c in columns if keep[c]]}


def unavailable(reason: str) -> dict[str, Any]:
    return {"available": False, "warning": False, "reason": reason}


def distance(summary: Mapping[str, Any], row: Mapping[str, Any], top: int = 5) -> dict[str, Any]:
    """How far one video's features lie from the training videos, and whether that makes the verdict unreliable."""
    if not summary or not summary.get("columns"):
        return unavailable("the model card holds no summary of its training videos (saved by an older fvc or "
                           "trained without a stage-2 features table); retrain to get the check")
    cols = list(summary["columns"])
    x = np.array([_number(row.get(c)) for c in cols])
    z = (x - np.asarray(summary["median"])) / np.asarray(summary["spread"])
    seen = np.isfinite(z)
    if not seen.any():
        return unavailable("none of the summarised features could be measured on this video")
    z = np.clip(np.where(seen, z, 0.0), -Z_CAP, Z_CAP)
    rms, worst = float(np.sqrt(np.mean(z[seen] ** 2))), float(np.max(np.abs(z)))
    warn = rms > RMS_Z or worst > MAX_Z
    order = np.argsort(-np.abs(z))[:top]
    return {"available": True, "warning": bool(warn), "rms_z": rms, "max_z": worst,
            "thresholds": {"rms_z": RMS_Z, "max_z": MAX_Z}, "method": summary.get("method", METHOD),
            "n_training_videos": summary.get("n_videos"), "n_features": int(seen.sum()),
            "message": ("this video's features lie far outside the training videos: the verdict is unreliable"
                        if warn else "features within the range of the training videos"),
            "farthest": [{"feature": cols[j], "z": float(z[j])} for j in order]}


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")
