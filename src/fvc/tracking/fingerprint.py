"""What a run was made from: code commit and package version (table hashes come with the run's events)."""

from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def git_commit() -> str:
    """Commit of the source tree the package runs from, ``+dirty`` if modified; 'unknown' outside git.

    Read-only: ``--no-optional-locks`` keeps ``git status`` from refreshing the
    index, which would take ``.git/index.lock`` in the checkout and break a git
    command the user runs there at the same moment. Never runs in the cwd.
    """
    src = Path(__file__).resolve().parent
    git = ["git", "--no-optional-locks"]
    try:
        sha = subprocess.run([*git, "rev-parse", "HEAD"], cwd=src, capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], cwd=src,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{sha}+dirty" if dirty else sha


def package_version() -> str:
    from .. import __version__

    return __version__
