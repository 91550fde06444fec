"""Why a feature model said what it said: per-feature contributions on the logit scale, grouped by family.

Tree ensembles use their library's own exact TreeSHAP (XGBoost
``pred_contribs``, LightGBM ``pred_contrib``, CatBoost ``ShapValues``), so the
contributions plus the bias add up to the model's raw score. Linear models
use coefficient x standardised value (the same additivity, exactly). Models
with neither (an RBF SVM) get no attribution, said so in the output.

The out-of-distribution check reads the training-feature statistics the
Pipeline already holds: the StandardScaler's per-feature mean and spread of
the training rows. A video whose features sit many standard deviations away
gets a warning that the verdict is unreliable.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

# Feature families by column prefix (stage-4 columns carry ``s4_`` in front), with a one-line reading.
FAMILIES: dict[str, tuple[str, str]] = {
    "noise_": ("noise", "sensor and residual noise: re-rendered or synthetic pixels change its level and consistency"),
    "dct_": ("dct", "8x8 DCT statistics and double-quantisation periodicity: traces of JPEG/H.264 re-compression"),
    "sharp_": ("sharpness", "blur and sharpness: resampling, upscaling and smoothing filters soften edges"),
    "block_": ("blocking", "block-boundary steps: visible 8x8 codec blocks from heavy or repeated compression"),
    "temporal_": ("temporal", "frame-to-frame change: duplicated frames, jumps and splices in time"),
    "codec_": ("codec", "container and encoder settings: bitrate, GOP, profile; platforms re-encode uploads"),
    "lnoise_": ("local_noise", "noise level block by block: an inpainted, spliced or pasted region has other noise"),
    "ltex_": ("local_texture", "sharpness and texture block by block: a blurred or cloned patch stands out"),
    "tdisc_": ("discontinuity", "spikes, freezes and pace changes over the decoded frames: cuts and speed edits"),
    "mv_": ("motion", "the codec's motion vectors: an object moving unlike the camera, intra-coded patches"),
    "gop_": ("gop", "double quantisation of I-frames against P/B-frames: a second compression"),
    "is_": ("scale", "whether stage 3 had to up- or down-scale the video to the model's size"),
}
TREE_LIBS = ("xgboost", "lightgbm", "catboost")


def family_of(column: str) -> str:
    name = column.removeprefix("s4_")
    for prefix, (family, _) in FAMILIES.items():
        if name.startswith(prefix):
            return family
    return "other"


READINGS = {family: reading for family, reading in FAMILIES.values()}


def split_pipeline(pipeline: Pipeline) -> tuple[Pipeline | None, Any]:
    """(preprocessing steps, final estimator) of a fitted Pipeline."""
    pre = Pipeline(pipeline.steps[:-1]) if len(pipeline.steps) > 1 else None
    return pre, pipeline.steps[-1][1]


def _estimator_kind(est: Any) -> str:
    module = type(est).__module__.split(".")[0]
    if module in TREE_LIBS:
        return module
    if hasattr(est, "coef_") and hasattr(est, "intercept_"):
        return "linear"
    return "none"


def contributions(pipeline: Pipeline, X: pd.DataFrame) -> dict[str, Any]:
    """Per-row, per-feature contributions to the estimator's logit, with the bias and the method.

    ``values`` is (n, p) over ``features`` (the columns that reach the estimator);
    ``values.sum(1) + bias`` is the raw score the estimator turns into a probability.
    """
    pre, est = split_pipeline(pipeline)
    Z = pre.transform(X) if pre is not None else X
    names = list(pre.get_feature_names_out(np.asarray(X.columns, dtype=object))) if pre is not None else list(X.columns)
    Z = np.asarray(Z, dtype=np.float64)
    kind = _estimator_kind(est)
    if kind == "xgboost":
        import xgboost

        booster = est.get_booster()
        full = booster.predict(xgboost.DMatrix(Z, feature_names=booster.feature_names), pred_contribs=True)
        method = "XGBoost TreeSHAP (pred_contribs)"
    elif kind == "lightgbm":
        full = np.asarray(est.predict(Z, pred_contrib=True))
        method = "LightGBM TreeSHAP (pred_contrib)"
    elif kind == "catboost":
        from catboost import Pool

        full = np.asarray(est.get_feature_importance(Pool(Z), type="ShapValues"))
        method = "CatBoost ShapValues"
    elif kind == "linear":
        coef = np.asarray(est.coef_, dtype=np.float64).reshape(-1)
        full = np.hstack([Z * coef, np.full((len(Z), 1), float(np.ravel(est.intercept_)[0]))])
        method = "coefficient x standardised value"
    else:
        return {"method": None, "reason": f"no per-feature attribution for {type(est).__name__}", "features": names}
    full = np.asarray(full, dtype=np.float64)
    return {"method": method, "features": names, "values": full[:, :-1], "bias": full[:, -1], "reason": None}


def family_evidence(contrib: dict[str, Any], row: int = 0, top: int = 3) -> list[dict[str, Any]]:
    """Contributions of one row summed per family, strongest first, each with its reading and top features."""
    if contrib["method"] is None:
        return []
    values = contrib["values"][row]
    groups: dict[str, list[tuple[str, float]]] = {}
    for name, v in zip(contrib["features"], values, strict=True):
        groups.setdefault(family_of(name), []).append((name, float(v)))
    out = []
    for family, items in groups.items():
        total = float(sum(v for _, v in items))
        items.sort(key=lambda t: -abs(t[1]))
        direction = "towards fake" if total > 0 else "towards real"
        out.append({"family": family, "contribution": total,
                    "reading": f"{READINGS.get(family, 'other features')}; here it pushes {direction} "
                               f"({total:+.2f} logit)",
                    "top": [{"feature": n, "contribution": v} for n, v in items[:top]]})
    out.sort(key=lambda d: -abs(d["contribution"]))
    return out
