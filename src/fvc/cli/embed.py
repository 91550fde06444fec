"""``fvc embed``: per-video deep embeddings from a frozen backbone (pretrained weights or a trained model)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import NoRetryOpt, WaitOpt, WorkspaceOpt, console, console_err, open_workspace, print_table


def embed(
    backbone: Annotated[str, typer.Option("--backbone", "-b", help="Deep model id whose embeddings to compute (5d, 5o, 5p, 5k, 5l, ...).")],
    preset: Annotated[str | None, typer.Option(help="Backbone preset: full (default, pretrained weights) or smoke.")] = None,
    checkpoint: Annotated[Path | None, typer.Option("--checkpoint", help="A trained model.pt of this backbone instead of its pretrained weights.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Recompute every video, ignoring finished ones.")] = False,
    no_retry_failed: NoRetryOpt = False,
    wait: WaitOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Embed every scaled video with a frozen backbone: mean and std of its pooled clip features (resumable)."""
    from ..embed import embed_videos, table_name

    ws, _ = open_workspace(workspace, lock=True, wait=wait)
    table, summary, fb = embed_videos(ws, backbone, preset=preset, checkpoint=checkpoint, force=force,
                                      retry_failed=not no_retry_failed)
    print_table(f"embed {fb.entry.id}", [summary.as_row() | {"weights": fb.weights, "sha256": fb.weights_sha256[:12]}])
    for err in table.loc[table["error"].notna(), "error"].head(10):
        console_err.print(f"[yellow]failed:[/] {err}", highlight=False)
    console.print(f"{len(table)} rows -> {ws.table(table_name(fb.entry.id))}")


def register(app: typer.Typer) -> None:
    app.command("embed")(embed)
