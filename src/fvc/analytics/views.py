"""DuckDB views over every table of a workspace, created fresh per query.

Views (not copies) keep queries on the current Parquet files at no load cost;
a table that does not exist yet simply has no view, so a half-run workspace
is still queryable, and a table that cannot be read is named and skipped.

User SQL runs in a sandbox: once the views exist, DuckDB may read only the
files behind them (``allowed_paths``), nothing else on disk or the network
(``enable_external_access=false``), the settings are locked, and only
read-only ``SELECT`` statements run (no COPY, ATTACH, INSTALL, CREATE, DROP,
SET, ...). Results reach a file only through ``fvc query --out``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from ..errors import FvcError
from ..workspace import Workspace
from .results import load_results, oof_files

# Tables the pipeline writes, in pipeline order (listing order for users).
KNOWN_TABLES = (
    "videos", "index", "splits", "augmented", "features_stage2", "scaled", "features_stage4",
    "mlflow_runs",
)
EXPERIMENT_LOG_DIR = "experiments"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _lit(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Analytics:
    """A DuckDB connection with one view per workspace table."""

    ws: Workspace
    con: duckdb.DuckDBPyConnection
    views: dict[str, str] = field(default_factory=dict)  # view name -> source
    skipped: dict[str, str] = field(default_factory=dict)  # table that cannot be read -> why
    readable: list[str] = field(default_factory=list)  # files the views read: all user SQL may touch

    def has(self, name: str) -> bool:
        return name in self.views

    def columns(self, view: str) -> dict[str, str]:
        """Column name -> DuckDB type of a view."""
        rows = self.con.execute(f"DESCRIBE {_quote(view)}").fetchall()
        return {r[0]: r[1] for r in rows}

    def sql(self, query: str) -> pd.DataFrame:
        """Run read-only SQL; a bad query, unknown table or refused statement becomes one FvcError line."""
        try:
            statements = duckdb.extract_statements(query)
        except duckdb.Error as exc:
            raise FvcError(f"bad SQL: {_first_line(exc)}") from None
        if not statements:
            return pd.DataFrame()
        refused = sorted({st.type.name for st in statements if st.type not in READ_ONLY_STATEMENTS})
        if refused:
            raise FvcError(f"only read-only SELECT queries run here (got {', '.join(refused)}); "
                           "write results with --out FILE.csv|.parquet")
        try:
            return self.con.sql(query).df()
        except duckdb.PermissionException:
            raise FvcError("refused: queries read the workspace views only, no other files "
                           f"(views: {', '.join(self.views) or 'none'})") from None
        except duckdb.CatalogException as exc:
            raise FvcError(self._catalog_message(exc)) from None
        except duckdb.Error as exc:
            raise FvcError(f"bad SQL: {_first_line(exc)}") from None

    def timed(self, query: str) -> tuple[pd.DataFrame, float]:
        t0 = time.perf_counter()
        df = self.sql(query)
        return df, time.perf_counter() - t0

    def _catalog_message(self, exc: Exception) -> str:
        text = _first_line(exc)
        m = re.search(r"with name (\S+?) does not exist", text)
        available = ", ".join(self.views) or "none (run `fvc setup`/`fvc index` first)"
        if m and m.group(1) in self.skipped:
            return f"table '{m.group(1)}' is unreadable and was skipped: {self.skipped[m.group(1)]}"
        if m:
            return f"unknown table '{m.group(1)}'; views in this workspace: {available}"
        return f"bad SQL: {text}; views in this workspace: {available}"

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Analytics":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _first_line(exc: Exception) -> str:
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    return lines[0] if lines else type(exc).__name__


# Statement kinds user SQL may use (DESCRIBE, SHOW, SUMMARIZE and PRAGMA read-outs parse as SELECT).
READ_ONLY_STATEMENTS = frozenset({duckdb.StatementType.SELECT})


def connect(ws: Workspace) -> Analytics:
    """Open an in-memory DuckDB with views over every table found in ``ws``, then seal it."""
    con = duckdb.connect(":memory:")
    an = Analytics(ws=ws, con=con)
    try:
        _table_views(an)
        _results_view(an)
        _predictions_view(an)
        _experiment_log_view(an)
        _seal(an)
    except BaseException:
        con.close()
        raise
    return an


def _seal(an: Analytics) -> None:
    """From here on DuckDB reads only the files behind the views and its settings are locked."""
    an.con.execute("SET allowed_paths = " + ("[" + ", ".join(_lit(p) for p in an.readable) + "]"))
    an.con.execute("SET enable_external_access = false")
    an.con.execute("SET python_enable_replacements = false")  # no scans of Python variables by name
    an.con.execute("SET autoinstall_known_extensions = false")
    an.con.execute("SET autoload_known_extensions = false")
    an.con.execute("SET lock_configuration = true")


def _unreadable(exc: Exception) -> str:
    return f"not a readable Parquet table ({_first_line(exc)})"


def _table_views(an: Analytics) -> None:
    tables_dir = an.ws.tables_dir
    found = sorted(p for p in tables_dir.glob("*.parquet")) if tables_dir.exists() else []
    by_name = {p.stem: p for p in found if _IDENT.match(p.stem)}
    order = [n for n in KNOWN_TABLES if n in by_name] + [n for n in by_name if n not in KNOWN_TABLES]
    for name in order:
        path = by_name[name]
        shown = str(path.relative_to(an.ws.root))
        try:
            an.con.execute(f"CREATE VIEW {_quote(name)} AS SELECT * FROM read_parquet({_lit(path)})")
        except duckdb.Error as exc:  # truncated or not Parquet: name it, keep the others queryable
            an.skipped[name] = f"{shown}: {_unreadable(exc)}"
            continue
        an.views[name] = shown
        an.readable.append(str(path))


def _results_view(an: Analytics) -> None:
    df = load_results(an.ws.results_dir)
    if df.empty:
        return
    an.con.register("_results_df", df)
    an.con.execute("CREATE VIEW results AS SELECT * FROM _results_df")
    an.views["results"] = "results/*/metrics.json"


def _predictions_view(an: Analytics) -> None:
    """All out-of-fold prediction files in one view, with the model they came from."""
    res = an.ws.results_dir
    files, schemas = [], []
    for f in oof_files(res):
        try:
            schemas.append(pq.read_schema(f))
        except Exception as exc:  # pyarrow raises several unrelated types
            an.skipped[f"predictions: {f.parent.name}"] = f"{f.relative_to(an.ws.root)}: {_unreadable(exc)}"
            continue
        files.append(f)
    if not files:
        return
    meta = pd.DataFrame(
        {"_file": [str(f) for f in files], "result_dir": [str(f.parent.relative_to(res)) for f in files]}
    )
    has_model_id = all("model_id" in schema.names for schema in schemas)
    an.con.register("_oof_files", meta)
    listing = "[" + ", ".join(_lit(f) for f in files) + "]"
    model_col = "" if has_model_id else "m.result_dir AS model_id, "
    an.con.execute(
        f"CREATE VIEW predictions AS SELECT {model_col}p.* EXCLUDE (_file), m.result_dir "
        f"FROM read_parquet({listing}, union_by_name=true, filename='_file') p "
        f"JOIN _oof_files m ON p._file = m._file"
    )
    an.views["predictions"] = "results/*/oof_predictions.parquet"
    an.readable.extend(str(f) for f in files)


def _experiment_log_view(an: Analytics) -> None:
    """The JSONL experiment logs (one file per run) as one event table."""
    log_dir = an.ws.root / EXPERIMENT_LOG_DIR
    files = sorted(log_dir.glob("*.jsonl")) if log_dir.exists() else []
    files = [f for f in files if f.stat().st_size > 0]
    if not files:
        return
    listing = "[" + ", ".join(_lit(f) for f in files) + "]"
    cols = (
        "{ts: 'VARCHAR', run_id: 'VARCHAR', event: 'VARCHAR', model_id: 'VARCHAR', "
        "fold: 'INTEGER', grid_index: 'INTEGER', epoch: 'INTEGER', data: 'JSON'}"
    )
    an.con.execute(
        f"CREATE VIEW experiment_log AS SELECT * FROM read_json({listing}, "
        f"format='newline_delimited', columns={cols}, ignore_errors=true)"
    )
    an.views["experiment_log"] = f"{EXPERIMENT_LOG_DIR}/*.jsonl"
    an.readable.extend(str(f) for f in files)
