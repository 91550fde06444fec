"""``fvc augment``: stage 1, N augmented copies per video."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import (NoRetryOpt, WaitOpt, WorkersOpt, WorkspaceOpt, open_workspace, print_table,
                      workers_or_default)


def register(app: typer.Typer) -> None:
    @app.command("augment")
    def augment(
        per_video: Annotated[int | None, typer.Option("--per-video", "-n", help="Augmented copies per video (default: config augment.per_video).")] = None,
        seed: Annotated[int | None, typer.Option(help="Augmentation seed (default: config augment.seed).")] = None,
        force: Annotated[bool, typer.Option("--force", help="Redo every video, ignoring finished ones.")] = False,
        workers: WorkersOpt = None,
        no_retry_failed: NoRetryOpt = False,
        wait: WaitOpt = False,
        workspace: WorkspaceOpt = None,
    ) -> None:
        """Write N deterministic augmented copies of every video (stage 1, resumable)."""
        from ..augment.stage import STAGE, run_augment
        from ..stages import clear_stage

        ws, cfg = open_workspace(workspace, {"augment.per_video": per_video, "augment.seed": seed}, lock=True, wait=wait)
        if force:
            clear_stage(ws, STAGE)
        table, summary = run_augment(ws, cfg, workers=workers_or_default(workers), retry_failed=not no_retry_failed)
        print_table("augment", [summary.as_row() | {"videos": int(table["is_augmented"].fillna(False).sum())}])
