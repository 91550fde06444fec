"""Interactive report charts as Plotly figure specs (plain JSON dicts the page draws with plotly.js).

Every function returns ``{"figure": ..., "alt": ...}``: the spec and a sentence
that says what the chart shows, for screen readers and for anyone reading the
file without JavaScript.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from sklearn.metrics import auc as area
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_curve

from .stats import brier, calibration_bins

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22"]
CHANCE = {"color": "#777777", "dash": "dash", "width": 1}
HEIGHT = 400


def colour_map(model_ids: list[str]) -> dict[str, str]:
    """One colour per model, the same in every chart."""
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(model_ids)}


def _spec(fig: go.Figure, alt: str) -> dict[str, Any]:
    fig.update_layout(height=HEIGHT, margin={"l": 55, "r": 10, "t": 40, "b": 45}, template="plotly_white",
                      legend={"font": {"size": 11}}, hovermode="closest")
    return {"figure": json.loads(pio.to_json(fig, validate=True)), "alt": alt}


def _two_class(df: pd.DataFrame) -> bool:
    return df["label"].nunique() == 2


def roc_chart(oofs: dict[str, pd.DataFrame], colours: dict[str, str]) -> dict[str, Any]:
    """Pooled out-of-fold ROC per model, the curve's AUC in its legend entry, and the chance diagonal."""
    fig, parts = go.Figure(), []
    for mid, df in oofs.items():
        if not _two_class(df):
            continue
        fpr, tpr, thr = roc_curve(df["label"], df["prob"])
        a = area(fpr, tpr)
        parts.append(f"{mid} {a:.3f}")
        fig.add_trace(go.Scatter(x=fpr, y=tpr, mode="lines", name=f"{mid} (AUC {a:.3f})",
                                 line={"color": colours[mid], "width": 2}, customdata=np.clip(thr, 0, 1),
                                 hovertemplate=f"{mid}<br>FPR %{{x:.3f}}<br>TPR %{{y:.3f}}<br>"
                                               "threshold %{customdata:.3f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance (AUC 0.500)", line=CHANCE,
                             hoverinfo="skip"))
    fig.update_layout(title="ROC, pooled out-of-fold", xaxis_title="false positive rate",
                      yaxis_title="true positive rate", xaxis_range=[0, 1], yaxis_range=[0, 1.02])
    return _spec(fig, "ROC curves of pooled out-of-fold predictions with a dashed chance diagonal; "
                      "area under each curve: " + ", ".join(parts) + ".")


def pr_chart(oofs: dict[str, pd.DataFrame], colours: dict[str, str]) -> dict[str, Any]:
    """Precision-recall per model (average precision in the legend); chance is the share of fakes."""
    fig, parts = go.Figure(), []
    for mid, df in oofs.items():
        if not _two_class(df):
            continue
        p, r, _ = precision_recall_curve(df["label"], df["prob"])
        ap = average_precision_score(df["label"], df["prob"])
        parts.append(f"{mid} {ap:.3f}")
        fig.add_trace(go.Scatter(x=r, y=p, mode="lines", name=f"{mid} (AP {ap:.3f})", line_shape="hv",
                                 line={"color": colours[mid], "width": 2},
                                 hovertemplate=f"{mid}<br>recall %{{x:.3f}}<br>precision %{{y:.3f}}<extra></extra>"))
    base = float(pd.concat(list(oofs.values()))["label"].mean()) if oofs else 0.5
    fig.add_trace(go.Scatter(x=[0, 1], y=[base, base], mode="lines", name=f"chance (AP {base:.3f})", line=CHANCE,
                             hoverinfo="skip"))
    fig.update_layout(title="Precision-recall, pooled out-of-fold", xaxis_title="recall", yaxis_title="precision",
                      xaxis_range=[0, 1], yaxis_range=[0, 1.02])
    return _spec(fig, f"Precision-recall curves; chance precision is the share of fakes, {base:.3f}; "
                      "average precision: " + ", ".join(parts) + ".")


def calibration_chart(oofs: dict[str, pd.DataFrame], colours: dict[str, str], n_bins: int = 10) -> dict[str, Any]:
    """Reliability curve with equal-count bins; the Brier score in each legend entry."""
    fig, parts = go.Figure(), []
    for mid, df in oofs.items():
        b = calibration_bins(df["label"].to_numpy(), df["prob"].to_numpy(), n_bins)
        s = brier(df["label"].to_numpy(), df["prob"].to_numpy())
        parts.append(f"{mid} {s:.3f}")
        fig.add_trace(go.Scatter(x=b["mean_prob"], y=b["frac_fake"], mode="lines+markers",
                                 name=f"{mid} (Brier {s:.3f})", line={"color": colours[mid], "width": 2},
                                 customdata=b["n"],
                                 hovertemplate=f"{mid}<br>mean P(fake) %{{x:.3f}}<br>fraction fake %{{y:.3f}}<br>"
                                               "%{customdata} videos<extra></extra>"))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated", line=CHANCE,
                             hoverinfo="skip"))
    fig.update_layout(title=f"Calibration, {n_bins} equal-count bins", xaxis_title="mean predicted P(fake)",
                      yaxis_title="observed fraction fake", xaxis_range=[0, 1], yaxis_range=[0, 1.02])
    return _spec(fig, f"Calibration curves with {n_bins} equal-count bins against the diagonal of perfect "
                      "calibration; Brier score (lower is better): " + ", ".join(parts) + ".")


def folds_chart(fold_auc: dict[str, pd.Series], colours: dict[str, str]) -> dict[str, Any]:
    """ROC-AUC of each model on each test fold, to show how much the folds disagree."""
    fig = go.Figure()
    for mid, s in fold_auc.items():
        fig.add_trace(go.Scatter(x=[str(f) for f in s.index], y=s.values, mode="lines+markers", name=mid,
                                 line={"color": colours[mid], "width": 1.5},
                                 hovertemplate=f"{mid}<br>fold %{{x}}<br>ROC-AUC %{{y:.3f}}<extra></extra>"))
    fig.add_hline(y=0.5, line=CHANCE)
    fig.update_layout(title="ROC-AUC per test fold (dashed: chance)", xaxis_title="fold", yaxis_title="ROC-AUC",
                      yaxis_range=[0, 1.02], xaxis_type="category")
    spread = ", ".join(f"{m} {s.min():.2f}-{s.max():.2f}" for m, s in fold_auc.items() if len(s))
    return _spec(fig, f"ROC-AUC of each model on each test fold; range per model: {spread}.")


def importance_chart(model_id: str, imp: pd.DataFrame, scale: str, colour: str, top: int = 12) -> dict[str, Any]:
    """One model's top features on its own axis: importance kinds differ and are never compared."""
    t = imp.sort_values("importance", ascending=False).head(top)[::-1]
    fig = go.Figure(go.Bar(x=t["importance"], y=t["feature"], orientation="h", marker_color=colour,
                           hovertemplate="%{y}<br>%{x:.4g}<extra></extra>"))
    fig.update_layout(title=f"{model_id}", xaxis_title=scale, yaxis={"tickfont": {"size": 10}, "automargin": True},
                      showlegend=False)
    spec = _spec(fig, f"{model_id}: top {len(t)} features by {scale}; first {t['feature'].iloc[-1]}.")
    spec["figure"]["layout"]["height"] = max(260, 22 * len(t) + 110)
    return spec
