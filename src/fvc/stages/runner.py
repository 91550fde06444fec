"""Run a per-video stage row by row with resume: the shared mechanics of stages 1-4.

Each finished input row is saved at once as a small Parquet part file, with
the row's freshness key in a ``stage_key`` column. A crash or Ctrl-C loses at
most the rows in progress; a re-run skips rows whose key is unchanged and
redoes the others. A bad video becomes an ``error`` row and the run goes on;
error rows are retried on the next run unless ``retry_failed=False``. A full
or read-only disk stops the run with one line (the video is not blamed), and
a bug in our code stops it with its traceback.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import FvcConfig, stable_hash
from ..errors import StorageError
from ..progress import progress_iter
from ..workspace import Workspace, write_table
from .executor import current_executor
from .graph import UP_TO_DATE, Stage
from .pool import Outcome, attempt, raise_if_stopping, run_pool

RowFn = Callable[[dict[str, Any]], dict[str, Any] | list[dict[str, Any]]]
KEY_COLUMN = "stage_key"


@dataclass
class StageSummary:
    stage: str
    done: int = 0  # rows computed (successfully) in this run
    skipped: int = 0  # rows already up to date
    failed: int = 0  # error rows in the output table: new, retried in vain, or kept
    retried: int = 0  # error rows of an earlier run computed again in this run
    table: Path | None = None

    def as_row(self) -> dict[str, Any]:
        return {"stage": self.stage, "done": self.done, "skipped": self.skipped, "failed": self.failed,
                "retried": self.retried}


def _part_name(key: str) -> str:
    # Row keys are file-name-safe in practice, but never trust them as paths.
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)[:80]
    digest = hashlib.sha1(key.encode()).hexdigest()[:8]
    return f"{safe}-{digest}.parquet"


def _read_part(part: Path) -> pd.DataFrame | None:
    if not part.exists():
        return None
    try:
        return pd.read_parquet(part)
    except Exception:  # a part torn by a hard kill on a filesystem without atomic rename: redo the row
        return None


def _as_stored(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` as it reads back from its part file, so fresh and resumed rows concatenate alike."""
    import pyarrow as pa

    return pa.Table.from_pandas(df, preserve_index=False).to_pandas()


def _error_row(key: str, row_key: str, message: str) -> list[dict[str, Any]]:
    return [{key: row_key, "error": message}]


def _save(ws: Workspace, stage: Stage, key: str, rows: list[dict[str, Any]], task: tuple[int, str, Path],
          outcome: Outcome, frames: list[pd.DataFrame | None], summary: StageSummary) -> None:
    """Write one row's outcome as its part file (its output rows, or its error row), or stop the run."""
    i, row_key, part = task
    kind = outcome[0]
    raise_if_stopping(outcome, ws.stage_dir(stage.files or stage.name), f"stage '{stage.name}' on {rows[i][key]}")
    if kind == "ok":
        out_rows = outcome[1]
        for r in out_rows:
            r.setdefault(key, str(rows[i][key]))
            r.setdefault("error", None)
        summary.done += 1
    else:
        out_rows = _error_row(key, str(rows[i][key]), outcome[1])
        summary.failed += 1
    df = pd.DataFrame(out_rows)
    df[KEY_COLUMN] = row_key
    write_table(df, part)
    frames[i] = _as_stored(df)


def run_stage(
    ws: Workspace,
    stage: Stage,
    cfg: FvcConfig,
    rows: Iterable[dict[str, Any]],
    fn: RowFn,
    *,
    key: str = "video_id",
    workers: int = 1,
    retry_failed: bool = True,
    finish: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    description: str | None = None,
) -> tuple[pd.DataFrame, StageSummary]:
    """Apply ``fn`` to each row, resumably; write and return ``stage.output``.

    ``fn`` returns one output row (dict) or several (list of dicts); output
    rows get ``stage_key`` and ``error`` columns. With ``workers > 1`` rows run
    on a process pool (``fn`` must pickle) and the table is the same as with
    one worker, row order included; inside :func:`fvc.stages.use_executor` rows
    run on that executor instead, with the same result. ``finish`` shapes the concatenated table
    (column types, failed rows' columns) before it is written.
    """
    parts_dir = ws.tables_dir / f"{stage.output}.parts"
    try:
        parts_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(parts_dir, exc) from exc
    _remove_torn_writes(parts_dir, ws.table(stage.output))
    summary = StageSummary(stage=stage.name)
    inputs = ws.fingerprints(stage.inputs)
    config_key = stage.config_key(cfg)
    rows = list(rows)

    row_keys = [stage.row_key(config_key, row) for row in rows]
    rows_key = stable_hash(row_keys, length=16)
    fresh = stage.freshness(ws, cfg)
    if (fresh.state == UP_TO_DATE and (ws.stage_record(stage.output) or {}).get("rows_key") == rows_key
            and (fresh.failed == 0 or not retry_failed)):
        # The same rows with the same keys as when the table was written: not even the parts are read.
        table = ws.read(stage.output)
        summary.failed = fresh.failed
        summary.skipped = len(rows) - fresh.failed
        summary.table = ws.table(stage.output)
        return table, summary

    frames: list[pd.DataFrame | None] = [None] * len(rows)
    todo: list[tuple[int, str, Path]] = []
    for i, (row, row_key) in enumerate(zip(rows, row_keys)):
        part = parts_dir / _part_name(str(row[key]))
        prev = _read_part(part)
        if prev is not None and len(prev) and KEY_COLUMN in prev.columns and (prev[KEY_COLUMN] == row_key).all():
            if not prev["error"].notna().any():
                frames[i] = prev
                summary.skipped += 1
                continue
            if not retry_failed:
                frames[i] = prev
                summary.failed += 1
                continue
            summary.retried += 1
        todo.append((i, row_key, part))

    def crash_message(row: dict[str, Any], why: str) -> str:
        return f"{row.get('path', row[key])}: worker process died ({why}) on this video"

    todo_rows = [rows[i] for i, _, _ in todo]
    outcomes: Iterator[tuple[int, Outcome]]
    executor = current_executor()
    if executor is not None and todo_rows:
        outcomes = executor.map(fn, todo_rows, crash_message)
    elif workers > 1 and todo_rows:
        outcomes = run_pool(fn, todo_rows, workers, crash_message)
    else:
        outcomes = ((j, attempt(fn, r, catch_bugs=False)) for j, r in enumerate(todo_rows))
    label = description or stage.name
    with contextlib.closing(outcomes):  # a stopping error stops the workers now, not when the traceback goes
        for j, outcome in progress_iter(outcomes, label, total=len(todo_rows)):
            _save(ws, stage, key, rows, todo[j], outcome, frames, summary)
    done = [f for f in frames if f is not None]
    table = pd.concat(done, ignore_index=True) if done else pd.DataFrame(columns=[key, "error", KEY_COLUMN])
    if finish is not None:
        table = finish(table)
    summary.table = stage.write(ws, cfg, table, inputs, rows_key)
    return ws.read(stage.output), summary  # as every reader (and the next run) sees it


def _remove_torn_writes(parts_dir: Path, table: Path) -> None:
    """Delete the temporary files a killed run left mid-write (``atomic_path`` renames them only on success).

    ``kill -9`` skips the cleanup that removes them, and nothing ever reads them;
    the caller holds the workspace lock, so no live writer owns one.
    """
    for tmp in [*parts_dir.glob(".*.tmp"), *table.parent.glob(f".{table.name}.*.tmp")]:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def clear_stage(ws: Workspace, name: str) -> None:
    """Forget every finished row of the stage writing table ``name`` (used by --force)."""
    parts_dir = ws.tables_dir / f"{name}.parts"
    if parts_dir.exists():
        shutil.rmtree(parts_dir)
    if ws.has(name):
        os.remove(ws.table(name))
