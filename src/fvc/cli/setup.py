"""``fvc setup``: extract the FVC archives (or use downloaded videos) and match them to metadata."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ..data.setup import SetupReport

from ..config import ENV_PASSWORD
from ._common import WaitOpt, WorkspaceOpt, console, open_workspace, print_table

SHOW_UNMATCHED = 10


def print_setup_report(report: "SetupReport") -> None:
    if report.archives:
        print_table(
            "archives",
            [{"archive": Path(a.archive).name, "extracted": a.extracted, "skipped": a.skipped,
              "MB written": round(a.bytes_written / 1e6, 1)} for a in report.archives],
        )
    for ignored in report.ignored_archives:
        console.print(f"ignored (not FVC*.zip or Metadata.zip): {ignored}", markup=False, soft_wrap=True)
    console.print(
        f"metadata rows: {report.rows}, matched to a file: {report.rows_matched}, "
        f"rows without files: {report.rows_without_files}"
    )
    labels = ", ".join(f"{k} {v}" for k, v in report.label_counts.items())
    console.print(f"videos: {report.videos} ({labels}); label conflicts: {report.label_conflicts}")
    n = len(report.unmatched_files)
    console.print(f"unmatched files: {n}")
    for path in report.unmatched_files[:SHOW_UNMATCHED]:
        console.print(f"  {path}", highlight=False, markup=False, soft_wrap=True)  # yt-dlp names hold [brackets]
    if n > SHOW_UNMATCHED:
        console.print(f"  ... and {n - SHOW_UNMATCHED} more (table unmatched_files)")


def register(app: typer.Typer) -> None:
    @app.command("setup")
    def setup_cmd(
        archives: Annotated[Path, typer.Option(
            "--archives", help="Folder with FVC1..3.zip + Metadata.zip, or with videos and FVC.csv / FVC_dup.csv.",
        )],
        password: Annotated[str | None, typer.Option(
            "--password", envvar=ENV_PASSWORD, show_envvar=True, help="Password of the encrypted archives.",
        )] = None,
        workspace: WorkspaceOpt = None,
        wait: WaitOpt = False,
    ) -> None:
        """Extract the FVC archives safely and match the videos to FVC.csv / FVC_dup.csv rows."""
        from ..config import save_config
        from ..data.setup import run_setup

        # A wrong password or an unsafe archive leaves no workspace behind: run_setup
        # creates it only after every archive has been checked.
        ws, cfg = open_workspace(workspace, create=False, lock=True, wait=wait)
        report = run_setup(ws, cfg, archives, password)
        if not ws.config_path.exists():
            save_config(ws, cfg)
        print_setup_report(report)
