"""Build one self-contained HTML report: plotly.js inline, images as data URIs; opens from disk offline.

The page is ``templates/report.html.j2`` (jinja2 ``PackageLoader``); this module
only gathers what the template shows.
"""

from __future__ import annotations

import base64
import struct
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ..errors import InputError
from ..workspace import Workspace, atomic_write_text
from . import ablation, charts, tables
from .collect import ModelResult, collect, video_facts
from .context import header
from .stats import N_BOOT

IMPORTANCE_SCALES = {
    "xgboost": "gain share (XGBoost)",
    "lightgbm": "times used in a split (LightGBM)",
    "catboost": "prediction-value change, % (CatBoost)",
}
PERMUTATION_SCALE = "ROC-AUC drop when permuted (test folds)"


def _env() -> Environment:
    return Environment(loader=PackageLoader("fvc.report", "templates"), undefined=StrictUndefined,
                       autoescape=select_autoescape(("html", "j2")))


def importance_scale(r: ModelResult) -> str:
    """What the numbers in a model's feature_importance.csv measure, for its axis title."""
    from ..models import (
        get_model,  # the catalog says permutation or native; the model's name says which booster
    )

    try:
        kind = get_model(r.id).importance
    except InputError:  # a model no longer in the catalog: say what we cannot know
        return "importance (kind unknown)"
    if kind == "permutation":
        return PERMUTATION_SCALE
    return IMPORTANCE_SCALES.get(str(r.metrics.get("name")), f"native importance ({r.metrics.get('name')})")


def _charts(models: list[ModelResult]) -> tuple[list[dict], list[dict]]:
    order = tables.ranked(models)
    colours = charts.colour_map([r.id for r in order])
    oofs = {r.id: r.oof for r in order if r.oof is not None}
    curves: list[dict[str, Any]] = []
    if oofs:
        curves = [charts.roc_chart(oofs, colours), charts.pr_chart(oofs, colours),
                  charts.calibration_chart(oofs, colours)]
        fold_auc = {}
        for r in order:
            folds = pd.DataFrame(r.metrics.get("folds") or [])
            if "roc_auc" in folds.columns:
                fold_auc[r.id] = folds.set_index("fold")["roc_auc"].dropna()
        if fold_auc:
            curves.append(charts.folds_chart(fold_auc, colours))
    for name, ch in zip(("roc", "pr", "calibration", "folds"), curves):
        ch["id"] = f"chart-{name}"
    imps = []
    for i, r in enumerate(order):
        if r.importance is not None and len(r.importance):
            ch = charts.importance_chart(r.id, r.importance, importance_scale(r), colours[r.id])
            ch["id"] = f"chart-importance-{i}"
            imps.append(ch)
    return curves, imps


def _breakdowns(ws: Workspace, models: list[ModelResult]) -> list[dict]:
    facts = video_facts(ws)
    if facts is None:
        return []
    if {"width", "height"} <= set(facts.columns):
        facts["resolution"] = [tables.resolution_bucket(w, h) for w, h in zip(facts["width"], facts["height"])]
    found = [tables.kind_breakdown(models, facts)]
    found += [tables.breakdown(models, facts, by) for by in ("platform", "codec", "resolution")]
    return [b for b in found if b]


def _is_wide(png: bytes) -> bool:
    """A panel row (width > 2 x height, from the PNG header) gets the full page width."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or len(png) < 24:
        return False
    width, height = struct.unpack(">II", png[16:24])
    return width > 2 * height


def _plots(ws: Workspace) -> list[dict[str, Any]]:
    if not ws.plots_dir.exists():
        return []
    out = []
    for p in sorted(ws.plots_dir.glob("*.png")):
        data = p.read_bytes()
        out.append({"name": p.name, "data": base64.b64encode(data).decode("ascii"), "wide": _is_wide(data),
                    "alt": "dataset plot: " + p.stem.replace("_", " ")})
    return out


def build_report(ws: Workspace, out: Path | None = None, n_boot: int = N_BOOT) -> tuple[Path, dict[str, Any] | None]:
    """Write the report; returns its path and the best model's metrics (by mean ROC-AUC) with ``roc_auc_ci``."""
    models = collect(ws, n_boot=n_boot)
    rows = tables.model_rows(models)
    best = tables.ranked(models)[0] if models and tables.ranked(models)[0].roc_auc is not None else None
    curves, imps = _charts(models)
    ablated = ablation.section(ws)
    levels = {r.metrics.get("level", "video") for r in models}
    plotly_js = ""
    if curves or imps or ablated:
        from plotly.offline import get_plotlyjs

        plotly_js = get_plotlyjs()
    page = _env().get_template("report.html.j2").render(
        ctx=header(ws, models), rows=rows, columns=tables.COLUMNS, n_boot=n_boot, charts=curves,
        confusions=[c for c in (tables.confusion(r) for r in tables.ranked(models)) if c],
        breakdowns=_breakdowns(ws, models), ablation=ablated, importances=imps, plots=_plots(ws), plots_dir=str(ws.plots_dir),
        plotly_js=plotly_js,
        level_note="each source video scored once (augmented copies and clips averaged)" if levels <= {"video"}
        else f"scoring levels: {', '.join(sorted(levels))}",
    )
    path = Path(out) if out else ws.artifacts_dir / "report.html"
    atomic_write_text(path, page)
    if best is None:
        return path, None
    summary = dict(best.metrics)
    if best.ci is not None:
        summary["roc_auc_ci"] = [best.ci.low, best.ci.high]
    return path, summary
