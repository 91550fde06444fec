"""The ``fvc`` command line: a thin Typer app over the package.

Each module in this folder (not starting with ``_``) defines ``register(app)``
and adds its commands, so areas of the CLI live beside each other without
one central list to edit.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click
import typer
from rich.markup import escape

from ..errors import FvcError
from ._common import console_err

app = typer.Typer(
    name="fvc",
    help="FVC Detect: fake-video detection pipeline for the Fake Video Corpus.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _info.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_info.name}").register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and exit code 2."""
    try:
        result = app(args=argv, prog_name="fvc", standalone_mode=False)
    except FvcError as exc:
        console_err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        console_err.print("aborted; finished rows are kept, re-run to resume")
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)
