"""Report command: one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import WorkspaceOpt, console, open_workspace


def report(
    workspace: WorkspaceOpt = None,
    out: Annotated[Path | None, typer.Option(help="Output HTML path (default: artifacts/report.html).")] = None,
) -> None:
    """Write the HTML report: model comparison, curves, importances, dataset plots."""
    from ..report import build_report
    ws, _ = open_workspace(workspace)
    path, best = build_report(ws, out)
    console.print(f"report -> {path}")
    if best and best["mean"].get("roc_auc") is not None:
        auc, std = best["mean"]["roc_auc"], best["std"].get("roc_auc") or 0.0
        console.print(f"best model: {best['model_id']} ROC-AUC {auc:.3f} +- {std:.3f} (grouped CV)")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
