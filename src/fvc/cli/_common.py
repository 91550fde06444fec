"""Options and output helpers shared by every command."""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ..config import FvcConfig, load_config, save_config, with_options
from ..workspace import Workspace

PIPE_WIDTH = 120  # columns for CI logs and pipes: the compact tables fit, long paths are not folded


def make_console(stderr: bool = False) -> Console:
    """A terminal keeps its own width. A pipe or CI log gets a fixed width ($COLUMNS, else 120) and no
    re-wrapping of printed lines, so table cells and paths are never cut mid-word by a guessed 80 columns."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty() and os.environ.get("CI", "").lower() not in ("1", "true", "yes"):
        return Console(stderr=stderr)
    try:
        width = int(os.environ.get("COLUMNS") or PIPE_WIDTH)
    except ValueError:
        width = PIPE_WIDTH
    return Console(stderr=stderr, width=max(width, 40), soft_wrap=True)


console = make_console()
console_err = make_console(stderr=True)

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (default: $FVC_WORKSPACE or ./fvc-workspace).",
        show_default=False,
    ),
]


WaitOpt = Annotated[
    bool, typer.Option("--wait", help="If another fvc command is writing this workspace, wait for it instead of exiting."),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option("--workers", min=1, show_default=False,
                 help="Worker processes for per-video stages (default: the cores available)."),
]
ExecutorOpt = Annotated[
    str, typer.Option("--executor", help="Where per-video stages and training folds run: local (a process pool) "
                      "or ray (Ray tasks; pip install fvc-detect[ray])."),
]
AddressOpt = Annotated[
    str | None, typer.Option("--address", show_default=False,
                             help="With --executor ray: 'auto' (the cluster of this machine) or ray://HEAD:10001; "
                             "default: a local Ray."),
]
NoRetryOpt = Annotated[
    bool, typer.Option("--no-retry-failed", help="Keep error rows of earlier runs instead of retrying them."),
]

# The command line being run (for the workspace lock's holder line) and what it holds until it ends.
_invocation: list[str] = []
_held: list[contextlib.ExitStack] = []


@contextlib.contextmanager
def command_scope(argv: list[str]) -> Iterator[None]:
    """Around one command: resources it takes (the workspace lock) are released when it returns or fails."""
    _invocation[:] = argv
    with contextlib.ExitStack() as stack:
        _held.append(stack)
        try:
            yield
        finally:
            _held.pop()


def invocation() -> str:
    return shlex.join(["fvc", *(_invocation or sys.argv[1:])])


def workers_or_default(workers: int | None) -> int:
    from ..stages import default_workers

    return workers if workers is not None else default_workers()


def open_workspace(
    path: Path | None, options: dict[str, Any] | None = None, save: bool = True, create: bool = True,
    lock: bool = False, wait: bool = False,
) -> tuple[Workspace, FvcConfig]:
    """Resolve the workspace, apply command-line ``options`` to its config, then create it.

    ``options`` maps config keys to option values (``{"augment.per_video": 3}``,
    None = not given). fvc.yaml and the options are validated before anything
    is written; with ``save`` the result goes to fvc.yaml (also on first use).
    With ``create=False`` nothing is written: the command creates the workspace
    once its input is known to be good. With ``lock`` the command holds the
    workspace lock until it ends (another holder: one-line error, or wait).
    """
    ws = Workspace.resolve(path)
    cfg = load_config(ws)
    changed = with_options(cfg, options or {})
    from ..video.io import set_frame_limits  # PyAV loads only for commands that open a workspace

    set_frame_limits(changed.video.max_side, changed.video.max_pixels)
    if lock:
        if not _held:
            raise RuntimeError("open_workspace(lock=True) outside a command scope")
        on_wait = lambda holder: console_err.print(f"waiting for {holder} to finish ...", highlight=False)  # noqa: E731
        _held[-1].enter_context(ws.lock(invocation(), wait=wait, on_wait=on_wait))
        cfg = load_config(ws)  # the holder we waited for may have changed it
        changed = with_options(cfg, options or {})
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
