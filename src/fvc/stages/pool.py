"""The local parallel executor: per-video work on a pool of worker processes.

Each worker holds one video at a time, so its memory is what the serial run
needs for one video. Results come back as plain rows; the caller writes
them, in input order, exactly as with one worker. A worker that dies (a
crash in a native decoder, the OOM killer) turns its video into an error row
and is replaced. Workers die with the run: each watches a pipe only the run
holds open, so a killed run (``kill -9`` included) never leaves a worker
writing into the workspace.

Workers come from a forkserver, never forked from the caller (which may hold
threads and the workspace lock).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from multiprocessing.connection import wait as wait_any
from typing import Any

from ..errors import FvcError, MissingDependencyError, StorageError
from ..workspace import storage_error

# A row's work can only blame storage for these: the place it writes is full or read-only.
WRITE_ERRNOS = frozenset({28, 122, 30})  # ENOSPC, EDQUOT, EROFS

Outcome = tuple  # ("ok", rows) | ("error", message) | ("stop", path, errno) | ("missing", message) | ("bug", traceback)


def raise_if_stopping(outcome: Outcome, fallback_path: Any, what: str) -> None:
    """Stop the run on a "stop" outcome (a full or read-only disk, as a StorageError naming the path, else
    ``fallback_path``), a "missing" one (a dependency the machine lacks: every video would fail alike) or a
    "bug" one (with the worker's traceback, ``what`` naming the work); else nothing."""
    if outcome[0] == "stop":
        _, path, errno = outcome
        raise StorageError(path or fallback_path, OSError(errno, os.strerror(errno)))
    if outcome[0] == "missing":
        raise MissingDependencyError(outcome[1])
    if outcome[0] == "bug":
        raise RuntimeError(f"bug in {what}; worker traceback:\n{outcome[1]}")


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def attempt(fn: Callable[[dict[str, Any]], Any], row: dict[str, Any], catch_bugs: bool) -> Outcome:
    """Run ``fn(row)``: its rows, the one-line error of a bad video, or the storage or dependency error that
    stops the run.

    Anything else is a bug in our code: raised (``catch_bugs=False``) or sent
    back with its traceback, never saved as the video's error.
    """
    try:
        out = fn(row)
    except Exception as exc:
        disk = storage_error(exc)
        if isinstance(exc, StorageError):
            return ("stop", exc.path, exc.errno)
        if disk is not None and disk.errno in WRITE_ERRNOS:
            return ("stop", disk.filename, disk.errno)
        if isinstance(exc, MissingDependencyError):
            return ("missing", str(exc))
        if isinstance(exc, FvcError):
            return ("error", str(exc))
        if not catch_bugs:
            raise
        return ("bug", traceback.format_exc())
    return ("ok", out if isinstance(out, list) else [out])


def _die_with_run(alive) -> None:
    """Exit as soon as ``alive`` reads EOF: the run closed it or died (its parent is the forkserver,
    which waits for its workers, so the parent's death is no signal)."""

    def watch() -> None:
        try:
            alive.poll(None)  # nothing is ever sent: readable means EOF
        except OSError:
            pass
        os._exit(1)

    threading.Thread(target=watch, name="fvc-run-watch", daemon=True).start()


def _worker(conn, alive, fn: Callable) -> None:
    _die_with_run(alive)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the run's to handle; it stops us
    conn.send("ready")  # started (and unpickled fn): a death from now on is its video's
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        pos, row = task
        conn.send((pos, attempt(fn, row, catch_bugs=True)))


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "no exit code"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class _Worker:
    def __init__(self, ctx, alive, fn: Callable):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, alive, fn), daemon=True)
        self.proc.start()
        child.close()
        self.task: tuple[int, dict[str, Any]] | None = None
        if self._receive() != "ready":  # not a video's fault: stop the run
            self.proc.join()
            raise RuntimeError(f"a stage worker process failed to start ({_describe_exit(self.proc.exitcode)}); "
                               "a script that runs stages with workers > 1 needs an "
                               "'if __name__ == \"__main__\":' guard")

    def _receive(self) -> Any:
        """The worker's next message, or None when it died."""
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            return None

    def give(self, task: tuple[int, dict[str, Any]]) -> None:
        self.task = task
        self.conn.send(task)

    def stop(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join()
        self.conn.close()


def _context(fn: Callable):
    ctx = mp.get_context("forkserver")
    module = getattr(getattr(fn, "func", fn), "__module__", None)
    ctx.set_forkserver_preload([m for m in (module,) if m])  # only takes effect when the server starts
    return ctx


def run_pool(fn: Callable[[dict[str, Any]], Any], rows: list[dict[str, Any]], workers: int,
             crash_message: Callable[[dict[str, Any], str], str]) -> Iterator[tuple[int, Outcome]]:
    """Yield ``(position, outcome)`` for every row as workers finish them (any order).

    ``fn`` must pickle (a module-level function or a ``functools.partial`` of
    one). A worker that dies yields ``("error", crash_message(row, why))``.
    """
    ctx = _context(fn)
    queue = deque(enumerate(rows))
    pool: list[_Worker] = []
    alive, alive_w = ctx.Pipe(duplex=False)  # only this process holds the write end
    try:
        for _ in range(min(workers, len(rows))):
            w = _Worker(ctx, alive, fn)
            pool.append(w)
            w.give(queue.popleft())
        while any(w.task is not None for w in pool):
            busy = [w for w in pool if w.task is not None]
            wait_any([w.conn for w in busy] + [w.proc.sentinel for w in busy])
            for i, w in enumerate(pool):
                if w.task is None:
                    continue
                outcome = None
                if w.conn.poll():
                    message = w._receive()
                    if message is not None:
                        pos, outcome = message
                if outcome is None and w.proc.is_alive():
                    continue  # still working
                if outcome is None:  # died holding its task
                    w.proc.join()
                    pos, row = w.task
                    outcome = ("error", crash_message(row, _describe_exit(w.proc.exitcode)))
                    w.stop()
                    w = pool[i] = _Worker(ctx, alive, fn)
                w.task = None
                if queue:
                    w.give(queue.popleft())
                yield pos, outcome
    finally:
        alive_w.close()
        for w in pool:
            w.stop()
        alive.close()
