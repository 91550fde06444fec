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
        ci = best.get("roc_auc_ci")
        ci_text = f", 95% CI {ci[0]:.3f}-{ci[1]:.3f}" if ci else ""
        console.print(f"best model: {best['model_id']} ({best.get('preset') or 'preset n/a'}) ROC-AUC {auc:.3f} "
                      f"+- {std:.3f} (grouped CV{ci_text})")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
