"""Options and output helpers shared by every command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ..config import FvcConfig, load_config, save_config, with_options
from ..workspace import Workspace

console = Console()
console_err = Console(stderr=True)

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (default: $FVC_WORKSPACE or ./fvc-workspace).",
        show_default=False,
    ),
]


def open_workspace(
    path: Path | None, options: dict[str, Any] | None = None, save: bool = True, create: bool = True,
) -> tuple[Workspace, FvcConfig]:
    """Resolve the workspace, apply command-line ``options`` to its config, then create it.

    ``options`` maps config keys to option values (``{"augment.per_video": 3}``,
    None = not given). fvc.yaml and the options are validated before anything
    is written; with ``save`` the result goes to fvc.yaml (also on first use).
    With ``create=False`` nothing is written: the command creates the workspace
    once its input is known to be good.
    """
    ws = Workspace.resolve(path)
    cfg = load_config(ws)
    changed = with_options(cfg, options or {})
    from ..video.io import set_frame_limits  # PyAV loads only for commands that open a workspace

    set_frame_limits(changed.video.max_side, changed.video.max_pixels)
    if not create:
        return ws, changed
    ws.ensure()
    if save and (changed != cfg or not ws.config_path.exists()):
        save_config(ws, changed)
    return ws, changed


def print_table(title: str, rows: list[dict], columns: list[str] | None = None) -> None:
    if not rows:
        console.print(f"{title}: (no rows)")
        return
    columns = columns or list(rows[0].keys())
    if len(columns) * MIN_COLUMN_WIDTH > console.width:
        _print_records(title, rows, columns)
        return
    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(str(col), no_wrap=col == "id")  # model ids stay whole
    for row in rows:
        table.add_row(*[_fmt(row.get(c)) for c in columns])
    console.print(table)


MIN_COLUMN_WIDTH = 9  # below this rich squeezes cells to nothing


def _print_records(title: str, rows: list[dict], columns: list[str]) -> None:
    """Wide results one record at a time (column: value), like psql's expanded display."""
    console.print(f"[bold]{title}[/]")
    for i, row in enumerate(rows, start=1):
        table = Table(title=f"record {i}", show_header=False, title_justify="left")
        table.add_column("column", style="bold")
        table.add_column("value")
        for col in columns:
            table.add_row(str(col), _fmt(row.get(col)))
        console.print(table)


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
