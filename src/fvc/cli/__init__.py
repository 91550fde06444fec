"""The ``fvc`` command line: a thin Typer app over the package.

Each command module in this folder defines ``register(app)`` and adds its
commands; modules import their heavy dependencies inside the commands, so
``fvc --help`` stays fast.
"""

from __future__ import annotations

import functools
import signal
import sys

import typer
from rich.markup import escape

from ..errors import FvcError
from ..plotting import keep_matplotlib_out_of_home
from ._common import command_scope, console_err

keep_matplotlib_out_of_home()  # before any command loads a plotting module

app = typer.Typer(
    name="fvc",
    help="FVC Detect: fake-video detection pipeline for the Fake Video Corpus.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

from . import (ablate, augment, data, embed, explain, features, mlflow_ui, models, predict,  # noqa: E402
               promote, query, report, run, scale, serve, setup, slurm, synth, train)

for _module in (ablate, augment, data, embed, explain, features, mlflow_ui, models, predict, promote, query, report,
                run, scale, serve, setup, slurm, synth, train):
    _module.register(app)

# `fvc --help` lists commands in pipeline order; commands not named here follow.
COMMAND_ORDER = [
    "synth", "setup", "index", "splits", "augment", "features", "scale", "embed", "models", "train",
    "ablate", "report", "predict", "explain", "serve", "run", "status", "slurm", "query", "promote", "mlflow-ui",
]


def _command_rank(cmd) -> int:
    name = cmd.name or cmd.callback.__name__.replace("_", "-")
    return COMMAND_ORDER.index(name) if name in COMMAND_ORDER else len(COMMAND_ORDER)


app.registered_commands.sort(key=_command_rank)

ABORTED = "aborted; finished rows are kept, re-run to resume"
_argv: list[str] = []  # the command line main() runs, for the workspace lock's holder line


class _Interrupted(Exception):
    """Ctrl-C inside a command (Typer would turn a KeyboardInterrupt into a silent exit 130)."""


def _interruptible(callback):
    @functools.wraps(callback)
    def run(*args, **kwargs):
        try:
            with command_scope(_argv):
                return callback(*args, **kwargs)
        except KeyboardInterrupt:
            raise _Interrupted() from None

    return run


for _cmd in app.registered_commands:
    _cmd.callback = _interruptible(_cmd.callback)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and exit code 2."""
    _argv[:] = sys.argv[1:] if argv is None else list(argv)
    # Ctrl-C is ours to handle whatever the parent left: an ignored or blocked SIGINT is inherited across exec
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        result = app(args=argv, prog_name="fvc", standalone_mode=False)
    except FvcError as exc:
        console_err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except (_Interrupted, typer.Abort, KeyboardInterrupt):
        console_err.print(ABORTED, highlight=False)
        sys.exit(130)
    except typer.TyperException as exc:  # usage errors: Typer's (vendored) click exceptions
        exc.show()
        sys.exit(getattr(exc, "exit_code", 2))
    sys.exit(result if isinstance(result, int) else 0)
