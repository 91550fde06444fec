"""``fvc run``: the whole pipeline, resumable, with a per-stage summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..config import ENV_PASSWORD
from ._common import WorkspaceOpt, console, open_workspace, print_table


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        archives: Annotated[Path | None, typer.Option(help="Folder with the FVC archives (or videos + CSVs) for stage setup.")] = None,
        password: Annotated[str | None, typer.Option(envvar=ENV_PASSWORD, help="Password of the encrypted archives.")] = None,
        start: Annotated[str | None, typer.Option("--from", help="First stage: setup, index, splits, augment, features2, scale, features4, train.")] = None,
        stop: Annotated[str | None, typer.Option("--to", help="Last stage (same names as --from).")] = None,
        per_video: Annotated[int | None, typer.Option("--per-video", help="Augmented copies per video (config augment.per_video).")] = None,
        size: Annotated[int | None, typer.Option(help="Scale size (config scale.size).")] = None,
        method: Annotated[str | None, typer.Option(help="Scale method: letterbox or autoencoder.")] = None,
        vae: Annotated[str | None, typer.Option(help="AutoencoderKL folder or hub id for --method autoencoder.")] = None,
        models: Annotated[str, typer.Option(help="Models to train: 'all' feature models, a family, or comma ids.")] = "all",
        no_tracking: Annotated[bool, typer.Option("--no-tracking", help="Do not log training to MLflow.")] = False,
        workspace: WorkspaceOpt = None,
    ) -> None:
        """Run setup, index, splits, augment, features, scale and train in order, resuming finished work."""
        from ..errors import FvcError
        from ..pipeline import RunOptions, run_pipeline, stage_range

        stage_range(start, stop)  # bad names fail before any work
        ws, cfg = open_workspace(workspace, {"augment.per_video": per_video, "scale.size": size,
                                             "scale.method": method, "scale.vae": vae})
        opts = RunOptions(archives=archives, password=password, models=models, tracking=not no_tracking)
        report = run_pipeline(ws, cfg, opts, start, stop,
                              on_stage=lambda k, n, name: console.print(f"[bold]stage {k}/{n}: {name}[/]"))
        print_table("fvc run", report.rows())
        if report.error:
            raise FvcError(report.error)
