"""Dataset exploration: summary tables and PNG plots of the video index."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..plotting import pyplot
from ..workspace import atomic_path

LABEL_MARKERS = {"fake": "^", "real": "o", "uncertain": "s", "debunked": "D", "parody": "v"}
LABEL_COLOURS = {"fake": "#d62728", "real": "#1f77b4", "uncertain": "#7f7f7f", "debunked": "#9467bd", "parody": "#ff7f0e"}


def index_summary(index: pd.DataFrame) -> list[dict]:
    """One row per raw label: videos, readable, median duration/fps/resolution, codecs."""
    rows = []
    ok = index[index["error"].isna()] if "error" in index.columns else index
    for label_raw, grp in index.groupby("label_raw", dropna=False):
        good = ok[ok["label_raw"] == label_raw]
        codecs = good["codec"].value_counts()
        rows.append(
            {
                "label": label_raw,
                "videos": len(grp),
                "readable": len(good),
                "cascades": grp["cascade_id"].nunique(),
                "median_s": float(good["duration"].median()) if len(good) else None,
                "median_fps": float(good["fps"].median()) if len(good) else None,
                "median_height": float(good["height"].median()) if len(good) else None,
                "codecs": ", ".join(f"{c}:{n}" for c, n in codecs.items()),
            }
        )
    return rows


def _save(fig, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    pyplot().close(fig)
    return path


def _stacked(table: pd.DataFrame, ax, title: str) -> None:
    """Stacked bars with the same colour per label as every other plot."""
    table.plot.bar(ax=ax, stacked=True, color=[LABEL_COLOURS.get(c, "#888") for c in table.columns])
    ax.set(title=title)


def write_exploration_plots(index: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """Resolution scatter, duration and fps histograms, class/platform/codec bars, cascade sizes."""
    plt = pyplot()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ok = index[index["error"].isna()] if "error" in index.columns else index
    paths = []

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for label, grp in ok.groupby("label_raw"):
        # opaque markers with a shape per label: translucent dots blend two label colours into a third
        ax.scatter(grp["width"], grp["height"], s=18, label=label, color=LABEL_COLOURS.get(label),
                   marker=LABEL_MARKERS.get(label, "o"), edgecolors="white", linewidths=0.5)
    ax.set(xlabel="width (px)", ylabel="height (px)", title="Resolution by label")
    ax.legend(fontsize=8)
    paths.append(_save(fig, out_dir / "resolution_scatter.png"))

    for col, unit, name in (("duration", "s", "duration_hist.png"), ("fps", "frames/s", "fps_hist.png")):
        fig, ax = plt.subplots(figsize=(6, 4))
        # bars side by side, opaque: overlapping translucent bars blend the label colours into a third
        groups = [(label, grp[col].dropna()) for label, grp in ok.groupby("label_raw")]
        groups = [(label, vals) for label, vals in groups if len(vals)]
        if groups:
            ax.hist([vals for _, vals in groups], bins=20, label=[label for label, _ in groups],
                    color=[LABEL_COLOURS.get(label, "#888888") for label, _ in groups])
        ax.set(xlabel=f"{col} ({unit})", ylabel="videos", title=f"{col.capitalize()} by label")
        ax.legend(fontsize=8)
        paths.append(_save(fig, out_dir / name))

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    index["label_raw"].value_counts().plot.bar(ax=axes[0], color=[LABEL_COLOURS.get(x, "#888") for x in index["label_raw"].value_counts().index])
    axes[0].set(title="Videos per label", ylabel="videos")
    if "platform" in index.columns:
        _stacked(pd.crosstab(index["platform"], index["label_raw"]), axes[1], "Platform by label")
    _stacked(pd.crosstab(ok["codec"], ok["label_raw"]), axes[2], "Codec by label")
    fig.tight_layout()
    paths.append(_save(fig, out_dir / "class_platform_codec.png"))

    sizes = index.groupby("cascade_id").size().sort_values(ascending=False)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(range(len(sizes)), sizes.to_numpy(), color="#555")
    ax.set(xlabel="cascade (sorted by size)", ylabel="videos", title=f"Cascade sizes ({len(sizes)} cascades)")
    paths.append(_save(fig, out_dir / "cascade_sizes.png"))
    return paths
