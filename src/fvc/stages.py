"""Run a stage row by row with resume: the shared mechanics of stages 1-4.

Each finished input row is saved at once as a small Parquet part file, keyed
by the row key and the stage's config hash. A crash or Ctrl-C loses at most
the row in progress; a re-run with the same hash skips finished rows, and a
failure on one row becomes an ``error`` row instead of stopping the run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import FvcError
from .progress import progress_iter
from .workspace import Workspace, write_table

RowFn = Callable[[dict[str, Any]], dict[str, Any] | list[dict[str, Any]]]


@dataclass
class StageSummary:
    stage: str
    done: int = 0
    skipped: int = 0
    failed: int = 0
    table: Path | None = None

    def as_row(self) -> dict[str, Any]:
        return {"stage": self.stage, "done": self.done, "skipped": self.skipped, "failed": self.failed}


def _part_name(key: str) -> str:
    # Row keys are file-name-safe in practice, but never trust them as paths.
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)[:80]
    digest = hashlib.sha1(key.encode()).hexdigest()[:8]
    return f"{safe}-{digest}.parquet"


def run_stage(
    ws: Workspace,
    name: str,
    rows: Iterable[dict[str, Any]],
    fn: RowFn,
    *,
    key: str = "video_id",
    config_hash: str,
    description: str | None = None,
    total: int | None = None,
) -> tuple[pd.DataFrame, StageSummary]:
    """Apply ``fn`` to each row, resumably; write and return the table ``name``.

    ``fn`` returns one output row (dict) or several (list of dicts). Output
    rows get ``config_hash`` and ``error`` columns added.
    """
    parts_dir = ws.tables_dir / f"{name}.parts"
    parts_dir.mkdir(parents=True, exist_ok=True)
    summary = StageSummary(stage=name)
    frames: list[pd.DataFrame] = []
    rows = list(rows)
    for row in progress_iter(rows, description or name, total=total or len(rows)):
        row_key = str(row[key])
        part = parts_dir / _part_name(row_key)
        if part.exists():
            try:
                prev = pd.read_parquet(part)
            except Exception:  # a torn part from a hard kill: redo the row
                prev = None
            if prev is not None and len(prev) and (prev["config_hash"] == config_hash).all():
                frames.append(prev)
                summary.skipped += 1
                continue
        try:
            out = fn(row)
            out_rows = out if isinstance(out, list) else [out]
            for r in out_rows:
                r.setdefault(key, row_key)
                r.setdefault("error", None)
            summary.done += 1
        except FvcError as exc:
            out_rows = [{key: row_key, "error": str(exc)}]
            summary.failed += 1
        except Exception as exc:  # one bad video never stops the run
            out_rows = [{key: row_key, "error": f"{type(exc).__name__}: {exc}"}]
            summary.failed += 1
        df = pd.DataFrame(out_rows)
        df["config_hash"] = config_hash
        write_table(df, part)
        frames.append(df)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[key, "error", "config_hash"])
    summary.table = ws.write(name, table)
    return table, summary


def clear_stage(ws: Workspace, name: str) -> None:
    """Forget every finished row of a stage (used by --force)."""
    parts_dir = ws.tables_dir / f"{name}.parts"
    if parts_dir.exists():
        shutil.rmtree(parts_dir)
    if ws.has(name):
        os.remove(ws.table(name))
