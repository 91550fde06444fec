"""``fvc scale``: stage 3, every stage-1 video scaled to one square size."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import (NoRetryOpt, WaitOpt, WorkersOpt, WorkspaceOpt, open_workspace, print_table,
                      workers_or_default)


def register(app: typer.Typer) -> None:
    @app.command("scale")
    def scale(
        size: Annotated[int | None, typer.Option(help="Output side in pixels (default: config scale.size, 256).")] = None,
        method: Annotated[str | None, typer.Option(help="letterbox or autoencoder (default: config scale.method).")] = None,
        vae: Annotated[str | None, typer.Option(help="AutoencoderKL folder or hub id for --method autoencoder.")] = None,
        force: Annotated[bool, typer.Option("--force", help="Redo every video, ignoring finished ones.")] = False,
        workers: WorkersOpt = None,
        no_retry_failed: NoRetryOpt = False,
        wait: WaitOpt = False,
        workspace: WorkspaceOpt = None,
    ) -> None:
        """Scale stage-1 videos to a square size by letterbox or autoencoder (stage 3, resumable)."""
        from ..config import save_config
        from ..scale.stage import STAGE, run_scale
        from ..stages import clear_stage

        options = {"scale.size": size, "scale.method": method, "scale.vae": vae}
        ws, cfg = open_workspace(workspace, options, save=False, lock=True, wait=wait)  # saved once the stage has run
        if force:
            clear_stage(ws, STAGE)
        table, summary = run_scale(ws, cfg, workers=workers_or_default(workers), retry_failed=not no_retry_failed)
        save_config(ws, cfg)
        up = int(table["is_upscaled"].fillna(False).sum())
        down = int(table["is_downscaled"].fillna(False).sum())
        print_table("scale", [summary.as_row() | {"upscaled": up, "downscaled": down}])
