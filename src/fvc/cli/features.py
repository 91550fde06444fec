"""Feature command: stage 2 / stage 4 handcrafted features."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import (NoRetryOpt, WaitOpt, WorkersOpt, WorkspaceOpt, console, open_workspace, print_table,
                      workers_or_default)


def features(
    workspace: WorkspaceOpt = None,
    stage: Annotated[int, typer.Option(help="2 = augmented/original videos, 4 = scaled videos.")] = 2,
    force: Annotated[bool, typer.Option("--force", help="Recompute every video, ignoring finished rows.")] = False,
    workers: WorkersOpt = None,
    no_retry_failed: NoRetryOpt = False,
    wait: WaitOpt = False,
) -> None:
    """Extract handcrafted noise/DCT/sharpness/blocking/temporal/codec features per video."""
    from ..features.stage import run_features
    ws, cfg = open_workspace(workspace, lock=True, wait=wait)
    summary = run_features(ws, cfg, stage=stage, force=force, workers=workers_or_default(workers),
                           retry_failed=not no_retry_failed)
    table = ws.read(f"features_stage{stage}")
    print_table(f"Features stage {stage}", [summary.as_row()])
    for err in table.loc[table["error"].notna(), "error"].head(10):
        console.print(f"[yellow]failed:[/] {err}", highlight=False)
    console.print(f"{len(table)} rows -> {summary.table}")


def register(app: typer.Typer) -> None:
    app.command("features")(features)
