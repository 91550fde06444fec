"""``fvc run`` (the whole pipeline, resumable, with a per-stage summary) and ``fvc status``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..config import ENV_PASSWORD
from ._common import (AddressOpt, ExecutorOpt, NoRetryOpt, WaitOpt, WorkersOpt, WorkspaceOpt, console,
                      open_workspace, print_table, workers_or_default)


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        archives: Annotated[Path | None, typer.Option(help="Folder with the FVC archives (or videos + CSVs) for stage setup.")] = None,
        password: Annotated[str | None, typer.Option(envvar=ENV_PASSWORD, help="Password of the encrypted archives.")] = None,
        start: Annotated[str | None, typer.Option("--from", help="First stage ('fvc status' lists them in order).")] = None,
        stop: Annotated[str | None, typer.Option("--to", help="Last stage (same names as --from).")] = None,
        per_video: Annotated[int | None, typer.Option("--per-video", help="Augmented copies per video (config augment.per_video).")] = None,
        size: Annotated[int | None, typer.Option(help="Scale size (config scale.size).")] = None,
        method: Annotated[str | None, typer.Option(help="Scale method: letterbox or autoencoder.")] = None,
        vae: Annotated[str | None, typer.Option(help="AutoencoderKL folder or hub id for --method autoencoder.")] = None,
        folds: Annotated[int | None, typer.Option(min=2, help="Cross-validation folds (config splits.folds, default 5); "
                                                         "saved once the data can fill them.")] = None,
        models: Annotated[str, typer.Option(help="Models to train: 'all' feature models, a family, or comma ids.")] = "all",
        no_tracking: Annotated[bool, typer.Option("--no-tracking", help="Do not log training to MLflow.")] = False,
        workers: WorkersOpt = None,
        executor: ExecutorOpt = "local",
        address: AddressOpt = None,
        no_retry_failed: NoRetryOpt = False,
        wait: WaitOpt = False,
        workspace: WorkspaceOpt = None,
    ) -> None:
        """Run the stages in graph order, skipping those up to date and resuming finished work."""
        from ..config import save_config, with_options
        from ..errors import FvcError
        from ..orchestration.executors import executor_for
        from ..pipeline import RunOptions, run_pipeline, stage_range
        from ..workspace import Workspace

        stage_range(start, stop)  # bad names fail before any work
        options = {"augment.per_video": per_video, "scale.size": size, "scale.method": method, "scale.vae": vae}
        # A new workspace is made by the setup stage, once the archives and password are known to be good:
        # a wrong password leaves nothing behind. fvc.yaml follows as soon as setup has made it.
        fresh = not Workspace.resolve(workspace).config_path.exists()
        runner = executor_for(executor, address, workers)
        ws, cfg = open_workspace(workspace, options, lock=True, wait=wait, create=not fresh)
        saved = cfg  # the splits stage saves the fold count itself, once the data can fill the folds
        cfg = with_options(cfg, {"splits.folds": folds})

        def keep_config() -> None:
            if not ws.config_path.exists() and ws.tables_dir.is_dir():
                save_config(ws, saved)

        def on_stage(k: int, n: int, name: str) -> None:
            keep_config()
            console.print(f"[bold]stage {k}/{n}: {name}[/]")

        opts = RunOptions(archives=archives, password=password, models=models, tracking=not no_tracking,
                          workers=workers_or_default(workers), retry_failed=not no_retry_failed, executor=runner)
        try:
            report = run_pipeline(ws, cfg, opts, start, stop, on_stage=on_stage)
        finally:
            keep_config()
        print_table("fvc run", report.rows())
        if report.error:
            raise FvcError(report.error)

    @app.command("status")
    def status(
        models: Annotated[str, typer.Option(help="Models whose training results count (as for 'fvc run').")] = "all",
        workspace: WorkspaceOpt = None,
    ) -> None:
        """Each stage in order: up to date, stale (and why) or missing. Reads only; takes no lock."""
        from ..errors import InputError
        from ..pipeline import status_rows

        ws, cfg = open_workspace(workspace, create=False)
        if not ws.root.is_dir():
            raise InputError(ws.root, "no workspace here; run 'fvc setup' or 'fvc run --archives ...' first")
        print_table(f"fvc status {ws.root}", status_rows(ws, cfg, models))
