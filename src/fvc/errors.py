"""Errors a user can act on.

Anything raised as :class:`FvcError` is shown by the CLI as one line and exit
code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class FvcError(Exception):
    """An error caused by input or environment, explained in one line."""

    exit_code = 2


class InputError(FvcError):
    """Bad input: a file, a table row or a CLI argument that cannot be used."""

    def __init__(self, where: str | Path, problem: str):
        self.where = str(where)
        self.problem = problem
        super().__init__(f"{where}: {problem}")

    def __reduce__(self):  # pickled by Ray and multiprocessing when a worker stops on bad input
        return (type(self), (self.where, self.problem))


class ArchiveError(InputError):
    """An archive that is unsafe, corrupt or locked with another password."""


class VideoError(InputError):
    """A video that cannot be opened or decoded."""


class MissingDependencyError(FvcError):
    """A dependency, codec or weight file is missing; the message says how to get it."""


class StorageError(FvcError):
    """The workspace cannot be written (disk full, read-only, no permission): the environment, never a video."""

    def __init__(self, path: str | Path, exc: OSError):
        self.path = str(path)
        self.errno = exc.errno
        reason = exc.strerror or str(exc)
        super().__init__(f"{path}: cannot write ({reason})")


class WorkspaceBusyError(FvcError):
    """Another fvc command holds the workspace lock."""
