"""Data commands: index and splits."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import WaitOpt, WorkspaceOpt, console, open_workspace, print_table


def index(
    workspace: WorkspaceOpt = None,
    workers: Annotated[int, typer.Option(min=1, help="Parallel probes.")] = 2,
    wait: WaitOpt = False,
) -> None:
    """Probe every video (codec, fps, size, bitrate, keyframes) into index.parquet and plot it."""
    from ..data.explore import index_summary
    from ..data.index import run_index
    ws, cfg = open_workspace(workspace, lock=True, wait=wait)
    table, summary = run_index(ws, cfg, workers=workers)
    print_table("Video index", index_summary(table))
    bad = table[table["error"].notna()]
    for _, row in bad.head(10).iterrows():
        console.print("unreadable: " + str(row["error"]), markup=False, highlight=False)
    console.print(f"{summary.done} videos indexed, {summary.failed} unreadable -> {summary.table}")
    console.print(f"plots -> {ws.plots_dir}")


def splits(
    workspace: WorkspaceOpt = None,
    folds: Annotated[int | None, typer.Option(help="Number of folds (default from fvc.yaml: 5).")] = None,
    seed: Annotated[int | None, typer.Option(help="Shuffle seed (default from fvc.yaml).")] = None,
    wait: WaitOpt = False,
) -> None:
    """Make grouped, stratified folds (no cascade in two folds) into splits.parquet."""
    from ..data.splits import fold_summary, run_splits
    # fvc.yaml is written by run_splits, once the folds are known to fit the data.
    ws, cfg = open_workspace(workspace, {"splits.folds": folds, "splits.seed": seed}, save=False,
                             lock=True, wait=wait)
    table = run_splits(ws, cfg)
    print_table("Folds (labelled videos)", fold_summary(table).to_dict("records"))
    excluded = int((table["fold"] < 0).sum())
    console.print(f"{len(table)} videos, {excluded} without a fold -> {ws.table('splits')}")


def register(app: typer.Typer) -> None:
    app.command("index")(index)
    app.command("splits")(splits)
