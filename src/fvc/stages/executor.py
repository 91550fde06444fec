"""Where a command's per-video rows run: this machine's process pool, or an executor it chose.

The per-video stages take ``workers`` from their callers and hand rows to
:func:`fvc.stages.run_stage`. A command that runs them elsewhere (``fvc run
--executor ray``) picks the executor once, with :func:`use_executor`, and
every stage it runs sends its rows there, as joblib's ``parallel_backend``
does: stage modules need not know executors exist, and part files, resume
and error rows stay the runner's, whoever computes the rows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, Protocol

from .pool import Outcome


class Executor(Protocol):
    """Computes rows elsewhere; the caller saves the outcomes exactly as from the local pool."""

    name: str

    def map(self, fn: Callable[[dict[str, Any]], Any], rows: list[dict[str, Any]],
            crash_message: Callable[[dict[str, Any], str], str]) -> Iterator[tuple[int, Outcome]]:
        """Yield ``(position, outcome)`` per row in any order; outcomes as :func:`fvc.stages.pool.attempt`'s,
        a worker that died as ``("error", crash_message(row, why))``."""


_CURRENT: ContextVar[Executor | None] = ContextVar("fvc_executor", default=None)


@contextlib.contextmanager
def use_executor(executor: Executor | None) -> Iterator[None]:
    """Per-video rows run on ``executor`` inside this block (None: the local pool, as before)."""
    token = _CURRENT.set(executor)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def current_executor() -> Executor | None:
    return _CURRENT.get()
