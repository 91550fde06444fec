"""What a run was made from: data tables, code commit, package version.

The trainer passes one combined data fingerprint; tracking also records one
hash per table so that when two runs differ, the changed table is visible.
Per-table hashes reuse ``fvc.training.run_config.data_fingerprint``.
"""

from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path

from ..workspace import Workspace

# Tables a training run can read (features models: index/splits/features; deep: scaled).
DATA_TABLES = ("index", "splits", "augmented", "features_stage2", "scaled", "features_stage4")


def table_fingerprints(ws: Workspace, tables: tuple[str, ...] = DATA_TABLES) -> dict[str, str]:
    """``{table: short hash}`` for each table that exists in the workspace."""
    from ..training.run_config import data_fingerprint

    return {name: data_fingerprint(ws, [name]) for name in tables if ws.has(name)}


@lru_cache(maxsize=1)
def git_commit() -> str:
    """Commit of the source tree the package runs from, ``+dirty`` if modified; 'unknown' outside git."""
    src = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=src, capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=src,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{sha}+dirty" if dirty else sha


def package_version() -> str:
    from .. import __version__

    return __version__
