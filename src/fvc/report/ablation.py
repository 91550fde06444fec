"""The feature-family ablation as the report shows it: ROC-AUC per variant, overall and per manipulation kind.

Reads the ``ablation`` table (``fvc ablate``: video-level out-of-fold
predictions of the model with each family removed and with only that family)
and scores it the way the report scores models: the fold mean for the whole
corpus, and per kind that kind's fakes against every real video (pooled out of
fold), where the workspace knows the kinds (a generated corpus).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..experiment import default_run_config
from ..experiment.ablation import TABLE, is_fresh
from ..workspace import Workspace
from .charts import _spec
from .collect import video_facts
from .colours import auc_style
from .stats import CHANCE_AUC, weighted_auc

OVERALL = "overall"


def _auc(label: pd.Series, prob: pd.Series) -> float:
    if label.nunique() < 2:
        return float("nan")
    return float(weighted_auc(label.to_numpy(), prob.to_numpy(), np.ones(len(label)))[0])


def kinds_of(ws: Workspace) -> pd.Series | None:
    """video_id -> manipulation kind ('none' for real footage), or None without ground truth."""
    facts = video_facts(ws)
    if facts is None or "manipulation" not in facts.columns or facts["manipulation"].isna().all():
        return None
    return facts.set_index("video_id")["manipulation"]


def ablation_scores(table: pd.DataFrame, kinds: pd.Series | None) -> pd.DataFrame:
    """One row per variant: model, variant, mode, family, features, overall (fold mean) and one column per kind."""
    rows = []
    for name, part in table.groupby("variant", sort=False):
        first = part.iloc[0]
        row = {"model": first["model"], "variant": name, "mode": first["mode"], "family": first["family"],
               "features": int(first["n_features"]), OVERALL: float(first["fold_mean_auc"])}
        if kinds is not None:
            kind = part["video_id"].astype(str).map(kinds)
            for k in sorted(set(kinds.dropna()) - {"none"}):
                sel = (part["label"] == 0) | ((part["label"] == 1) & (kind == k))
                row[k] = _auc(part.loc[sel, "label"], part.loc[sel, "prob"])
        rows.append(row)
    return pd.DataFrame(rows)


def score_columns(scores: pd.DataFrame) -> list[str]:
    return [c for c in scores.columns if c not in ("model", "variant", "mode", "family", "features")]


def gains(scores: pd.DataFrame) -> pd.DataFrame:
    """Per family: ROC-AUC of all families minus that of 'without family' (positive: the family adds AUC)."""
    cols = score_columns(scores)
    full = scores[scores["mode"] == "all"][cols].iloc[0]
    without = scores[scores["mode"] == "without"].set_index("family")[cols]
    return (full - without).astype(float)


def section(ws: Workspace) -> dict[str, Any] | None:
    """What the report's ablation section shows (None when ``fvc ablate`` has not run)."""
    if not ws.has(TABLE):
        return None
    scores = ablation_scores(ws.read(TABLE), kinds_of(ws))
    cols = score_columns(scores)
    rows = []
    full = scores[scores["mode"] == "all"].iloc[0]
    for _, r in scores.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            if pd.isna(v):
                cells.append({"text": "\u2013", "style": "", "title": "one class only: no ROC-AUC"})
                continue
            delta = v - full[c]
            title = "" if r["mode"] == "all" else f"{delta:+.3f} against all families"
            cells.append({"text": f"{v:.3f}", "style": auc_style(v, CHANCE_AUC), "title": title})
        rows.append({"variant": r["variant"], "mode": r["mode"], "features": r["features"], "cells": cells})
    chart = gain_chart(gains(scores), str(full["model"]))
    chart["id"] = "chart-ablation"
    fresh = is_fresh(ws, default_run_config(str(full["model"])))
    return {"model": str(full["model"]), "columns": cols, "rows": rows, "chart": chart, "stale": not fresh}


def gain_chart(g: pd.DataFrame, model: str) -> dict[str, Any]:
    """Heat map: ROC-AUC each family adds (all minus without it), per family and per kind."""
    z = g.to_numpy(dtype=float)
    lim = max(0.05, float(np.nanmax(np.abs(z)))) if z.size and np.isfinite(z).any() else 0.05
    text = [[("" if np.isnan(v) else f"{v:+.3f}") for v in row] for row in z]
    cells = [[None if np.isnan(v) else round(float(v), 4) for v in row] for row in z]  # plain JSON arrays
    fig = go.Figure(go.Heatmap(z=cells, x=list(g.columns), y=list(g.index), zmin=-lim, zmax=lim, colorscale="RdBu",
                               text=text, texttemplate="%{text}", colorbar={"title": "AUC added"},
                               hovertemplate="%{y} on %{x}: %{z:+.3f} ROC-AUC<extra></extra>"))
    fig.update_layout(title=f"ROC-AUC each family adds to {model} (all minus without it)",
                      xaxis_title="videos scored", yaxis_title="family", yaxis={"autorange": "reversed"})
    best = g.stack().sort_values(ascending=False).head(3)
    said = ", ".join(f"{fam} on {kind} {v:+.3f}" for (fam, kind), v in best.items())
    spec = _spec(fig, f"Heat map of the ROC-AUC each feature family adds to {model}, per family and per "
                      f"manipulation kind; blue where removing the family costs AUC. Largest: {said}.")
    spec["figure"]["layout"]["height"] = max(320, 28 * len(g) + 140)
    return spec
