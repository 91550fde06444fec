"""Static figures as PNG bytes for the notebooks (matplotlib Agg, one figure per call, closed after).

The HTML report draws interactive charts instead (``charts``).
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve

from .colours import text_on

DPI = 80


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    return buf.getvalue()


def _two_class(df: pd.DataFrame) -> bool:
    return df["label"].nunique() == 2


def roc_figure(oofs: dict[str, pd.DataFrame]) -> bytes:
    """ROC curve of every model's (video-level) out-of-fold predictions."""
    fig, ax = plt.subplots(figsize=(5, 4.2))
    for mid, df in oofs.items():
        if _two_class(df):
            fpr, tpr, _ = roc_curve(df["label"], df["prob"])
            ax.plot(fpr, tpr, label=mid, lw=1.4)
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (out-of-fold)")
    ax.legend(fontsize=7, loc="lower right")
    return _png(fig)


def pr_figure(oofs: dict[str, pd.DataFrame]) -> bytes:
    fig, ax = plt.subplots(figsize=(5, 4.2))
    for mid, df in oofs.items():
        if _two_class(df):
            p, r, _ = precision_recall_curve(df["label"], df["prob"])
            ax.plot(r, p, label=mid, lw=1.4)
    if oofs:
        base = float(pd.concat(list(oofs.values()))["label"].mean())
        ax.axhline(base, ls="--", c="grey", lw=0.8)
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall (out-of-fold)", ylim=(0, 1.02))
    ax.legend(fontsize=7, loc="lower left")
    return _png(fig)


def calibration_figure(oofs: dict[str, pd.DataFrame], bins: int = 8) -> bytes:
    fig, ax = plt.subplots(figsize=(5, 4.2))
    for mid, df in oofs.items():
        if _two_class(df):
            frac, mean = calibration_curve(df["label"], df["prob"], n_bins=bins, strategy="quantile")
            ax.plot(mean, frac, marker="o", ms=3, label=mid, lw=1.2)
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8)
    ax.set(xlabel="mean predicted P(fake)", ylabel="fraction fake", title="Calibration (out-of-fold)")
    ax.legend(fontsize=7, loc="upper left")
    return _png(fig)


def confusion_figure(model_id: str, tn: int, fp: int, fn: int, tp: int) -> bytes:
    m = np.array([[tn, fp], [fn, tp]])
    fig, ax = plt.subplots(figsize=(2.6, 2.4))
    im = ax.imshow(m, cmap="Blues")
    for (i, j), v in np.ndenumerate(m):
        bg = matplotlib.colors.to_hex(im.cmap(im.norm(v)))
        ax.text(j, i, str(v), ha="center", va="center", color=text_on(bg))  # readable on the cell's own fill
    ax.set_xticks([0, 1], ["real", "fake"])
    ax.set_yticks([0, 1], ["real", "fake"])
    ax.set(xlabel="predicted", ylabel="true", title=model_id)
    return _png(fig)


def fold_figure(fold_tables: dict[str, pd.DataFrame], metrics=("roc_auc", "accuracy", "f1")) -> bytes:
    """One panel per metric: each model's value per fold."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.2), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for mid, t in fold_tables.items():
            if metric in t.columns:
                ax.plot(t["fold"], t[metric], marker="o", ms=3, label=mid, lw=1)
        ax.set(title=metric, xlabel="fold", ylim=(0, 1.02))
    axes[0][0].legend(fontsize=7)
    return _png(fig)


def importance_figure(model_id: str, imp: pd.DataFrame, top: int = 15) -> bytes:
    t = imp.sort_values("importance", ascending=False).head(top)[::-1]
    fig, ax = plt.subplots(figsize=(5.5, 0.25 * len(t) + 1.2))
    ax.barh(t["feature"], t["importance"], color="#4c72b0")
    ax.set(title=f"{model_id}: feature importance", xlabel="importance")
    ax.tick_params(axis="y", labelsize=7)
    return _png(fig)
