"""Build one self-contained HTML report (inline PNGs and JS; opens from disk, no CDN).

Reads every ``results/<model>/`` with the shared layout, so deep models
trained by another trainer appear beside the feature models automatically.
"""

from __future__ import annotations

import base64
import html
import time
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment

from ..errors import InputError
from ..experiment.result_files import list_results, read_importance, read_metrics, read_oof
from ..workspace import Workspace, atomic_write_text
from . import figures

TABLE_METRICS = ["roc_auc", "pr_auc", "accuracy", "balanced_accuracy", "precision", "recall", "f1", "eer",
                 "log_loss", "brier"]

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>FVC Detect report</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f0f0f0;cursor:pointer;user-select:none}td.l,th.l{text-align:left}
img{max-width:100%;margin:4px}.grid{display:flex;flex-wrap:wrap;gap:8px}h2{margin-top:2em}
.best{background:#e6f4e6}.note{color:#666;font-size:13px}
</style></head><body>
<h1>FVC Detect report</h1>
<p class="note">Workspace {{ ws }} &middot; generated {{ when }} &middot; metrics are grouped-CV out-of-fold,
{{ level_note }}; mean &plusmn; std over folds. Click a column header to sort.</p>
<h2>Model comparison</h2>
{% if rows %}
<table id="cmp"><thead><tr>{% for c in columns %}<th class="{{ 'l' if c in text_cols else '' }}" onclick="sortTable({{ loop.index0 }})">{{ c }}</th>{% endfor %}</tr></thead>
<tbody>{% for r in rows %}<tr class="{{ 'best' if r.best else '' }}">{% for c in columns %}<td class="{{ 'l' if c in text_cols else '' }}" data-v="{{ r.sort[c] }}">{{ r.cells[c] }}</td>{% endfor %}</tr>{% endfor %}</tbody></table>
{% else %}<p>No results yet: run <code>fvc train --model all</code>.</p>{% endif %}
{% if curves %}<h2>ROC, precision-recall and calibration</h2><div class="grid">{% for img in curves %}<img src="data:image/png;base64,{{ img }}">{% endfor %}</div>{% endif %}
{% if folds_img %}<h2>Per-fold metrics</h2><img src="data:image/png;base64,{{ folds_img }}">{% endif %}
{% if confusions %}<h2>Confusion matrices (threshold 0.5, pooled out-of-fold)</h2><div class="grid">{% for img in confusions %}<img src="data:image/png;base64,{{ img }}">{% endfor %}</div>{% endif %}
{% if importances %}<h2>Feature importance</h2><p class="note">Permutation importance (ROC-AUC drop on each test fold, averaged) for linear/SVM models; the boosters' own importances for tree models.</p><div class="grid">{% for img in importances %}<img src="data:image/png;base64,{{ img }}">{% endfor %}</div>{% endif %}
<h2>Dataset exploration</h2>
{% if plots %}<div class="grid">{% for name, img in plots %}<figure><img src="data:image/png;base64,{{ img }}"><figcaption class="note">{{ name }}</figcaption></figure>{% endfor %}</div>
{% else %}<p>No plots found in {{ plots_dir }} (they are written by <code>fvc index</code>).</p>{% endif %}
<script>
function sortTable(col){var t=document.getElementById("cmp"),b=t.tBodies[0],rows=Array.from(b.rows);
var asc=t.getAttribute("data-col")==col&&t.getAttribute("data-dir")!="asc";
rows.sort(function(a,c){var x=a.cells[col].getAttribute("data-v"),y=c.cells[col].getAttribute("data-v");
var nx=parseFloat(x),ny=parseFloat(y);if(!isNaN(nx)&&!isNaN(ny)){x=nx;y=ny;}
return (x<y?-1:x>y?1:0)*(asc?1:-1);});rows.forEach(function(r){b.appendChild(r);});
t.setAttribute("data-col",col);t.setAttribute("data-dir",asc?"asc":"desc");}
</script></body></html>
"""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _fmt(mean: Any, std: Any) -> str:
    if mean is None:
        return "n/a"
    return f"{mean:.3f} &plusmn; {std:.3f}" if std is not None else f"{mean:.3f}"


def collect(ws: Workspace) -> list[dict[str, Any]]:
    """metrics.json + video-level OOF predictions + importances of every model with results."""
    out = []
    for mid in list_results(ws):
        m = read_metrics(ws, mid)
        try:
            oof = read_oof(ws, mid, video_level=m.get("level", "video") == "video")
        except InputError:
            oof = None
        out.append({"id": mid, "metrics": m, "oof": oof, "importance": read_importance(ws, mid)})
    return out


def build_report(ws: Workspace, out: Path | None = None) -> tuple[Path, dict[str, Any] | None]:
    """Write the report; returns its path and the best model's metrics (by mean ROC-AUC)."""
    models = collect(ws)
    columns = ["model", "name", "family", "preset", "inputs"] + TABLE_METRICS + ["videos", "failed", "config"]
    text_cols = {"model", "name", "family", "preset", "inputs", "config"}
    best = max(models, key=lambda r: r["metrics"]["mean"].get("roc_auc") or -1.0, default=None)
    rows = []
    for r in models:
        m = r["metrics"]
        cells = {"model": html.escape(r["id"]), "name": html.escape(str(m.get("name") or "")),
                 "family": html.escape(str(m.get("family") or "")),
                 "preset": html.escape(str(m.get("preset") or "")), "inputs": html.escape(str(m.get("inputs") or "")),
                 "videos": m.get("n_videos"), "failed": m.get("n_failed_videos", 0),
                 "config": html.escape(str(m.get("config_hash") or ""))}
        sort = {k: v for k, v in cells.items()}
        for k in TABLE_METRICS:
            cells[k] = _fmt(m["mean"].get(k), m["std"].get(k))
            v = m["mean"].get(k)
            sort[k] = "" if v is None else f"{v:.6f}"
        rows.append({"cells": cells, "sort": sort, "best": r is best})
    oofs = {r["id"]: r["oof"] for r in models if r["oof"] is not None and len(r["oof"])}
    curves = [_b64(figures.roc_figure(oofs)), _b64(figures.pr_figure(oofs)),
              _b64(figures.calibration_figure(oofs))] if oofs else []
    fold_tables = {r["id"]: pd.DataFrame(r["metrics"]["folds"]) for r in models if r["metrics"].get("folds")}
    folds_img = _b64(figures.fold_figure(fold_tables)) if fold_tables else None
    confusions = []
    for r in models:
        p = r["metrics"].get("pooled") or {}
        if all(k in p for k in ("tn", "fp", "fn", "tp")):
            confusions.append(_b64(figures.confusion_figure(r["id"], p["tn"], p["fp"], p["fn"], p["tp"])))
    importances = [_b64(figures.importance_figure(r["id"], r["importance"]))
                   for r in models if r["importance"] is not None and len(r["importance"])]
    plots = [(p.name, _b64(p.read_bytes())) for p in sorted(ws.plots_dir.glob("*.png"))] if ws.plots_dir.exists() else []
    levels = {r["metrics"].get("level", "video") for r in models}
    page = Environment(autoescape=False).from_string(TEMPLATE).render(
        ws=html.escape(str(ws.root)), when=time.strftime("%Y-%m-%d %H:%M"), rows=rows, columns=columns,
        text_cols=text_cols, curves=curves, folds_img=folds_img, confusions=confusions, importances=importances,
        plots=plots, plots_dir=html.escape(str(ws.plots_dir)),
        level_note="scored per source video (augmented copies averaged)" if levels == {"video"} else
        f"levels: {', '.join(sorted(levels))}",
    )
    path = out or ws.artifacts_dir / "report.html"
    atomic_write_text(path, page)
    return Path(path), (best["metrics"] if best else None)
