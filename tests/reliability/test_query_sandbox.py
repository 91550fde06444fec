"""`fvc query`: user SQL reads the workspace views only, writes nothing, and survives a broken table."""

from __future__ import annotations

import pandas as pd
import pytest

from fvc.analytics import connect
from fvc.config import FvcConfig
from fvc.errors import FvcError
from fvc.workspace import Workspace

SECRET = "SECRET-7f3a"



@pytest.fixture
def ws(tmp_path) -> Workspace:
    ws = Workspace(tmp_path / "ws").ensure()
    ws.write("index", pd.DataFrame({"video_id": ["a", "b", "c"], "label": [1, 0, 1]}))
    ws.write("splits", pd.DataFrame({"video_id": ["a", "b", "c"], "fold": [0, 1, 0]}))
    ws.config_path.write_text(FvcConfig().to_yaml())
    (tmp_path / "outside.csv").write_text(f"col\n{SECRET}\n")
    return ws


def test_truncated_table_is_named_and_skipped(ws, fvc, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    path = ws.table("splits")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    code, out, err = fvc("query", "--list", "-w", str(ws.root))
    assert code == 0, err
    assert "Traceback" not in err
    assert "skipped splits: tables/splits.parquet: not a readable Parquet table" in err
    assert "index" in out
    code, out, err = fvc("query", 'SELECT count(*) AS n FROM "index"', "-w", str(ws.root))
    assert code == 0 and " 3 " in out
    code, out, err = fvc("query", "SELECT * FROM splits", "-w", str(ws.root))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "table 'splits' is unreadable and was skipped" in err


def test_truncated_prediction_file_is_skipped(ws):
    good, bad = ws.results_dir / "5a", ws.results_dir / "5b"
    for d in (good, bad):
        d.mkdir(parents=True)
        pd.DataFrame({"video_id": ["a"], "prob": [0.7]}).to_parquet(d / "oof_predictions.parquet")
    (bad / "oof_predictions.parquet").write_bytes(b"PAR1 truncated")
    with connect(ws) as an:
        assert an.sql("SELECT model_id, prob FROM predictions").values.tolist() == [["5a", 0.7]]
        assert "predictions: 5b" in an.skipped


@pytest.mark.parametrize(
    "sql",
    [
        'DROP VIEW "index"',
        "CREATE TABLE t AS SELECT 1",
        "SELECT 1; DROP VIEW splits",
        "COPY (SELECT 1 AS x) TO '{tmp}/copied.csv'",
        "COPY (SELECT 42 AS video_id) TO '{table}' (FORMAT parquet, USE_TMP_FILE false)",
        "ATTACH '{tmp}/attached.db' AS other",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "CALL pragma_version()",
        "EXPORT DATABASE '{tmp}/export'",
    ],
)
def test_writing_or_reconfiguring_sql_is_refused_in_one_line(ws, fvc, sql):
    tmp = ws.root.parent
    table = ws.table("index")
    before = set(tmp.rglob("*")), table.read_bytes()
    code, out, err = fvc("query", sql.format(tmp=tmp, table=table), "-w", str(ws.root))
    assert code == 2, (out, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "only read-only SELECT queries run here" in err
    assert (set(tmp.rglob("*")), table.read_bytes()) == before
    with connect(ws) as an:  # the views are intact
        assert an.sql('SELECT count(*) AS n FROM "index"')["n"].item() == 3


@pytest.mark.parametrize(
    "source",
    [
        "read_csv('{tmp}/outside.csv')",
        "read_csv('../outside.csv')",
        "read_text('{tmp}/outside.csv')",
        "glob('{tmp}/*')",
        "read_csv('/etc/passwd')",
    ],
)
def test_files_outside_the_views_cannot_be_read(ws, fvc, source):
    tmp = ws.root.parent
    code, out, err = fvc("query", f"SELECT * FROM {source.format(tmp=tmp)}", "-w", str(ws.root))
    assert code == 2
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "refused: queries read the workspace views only" in err
    assert SECRET not in out + err and "root:" not in out + err


def test_python_variables_are_not_tables(ws):
    secret_frame = pd.DataFrame({"x": [SECRET]})  # noqa: F841 - DuckDB's replacement scan would find it
    with connect(ws) as an:
        with pytest.raises(FvcError, match="unknown table 'secret_frame'"):
            an.sql("SELECT * FROM secret_frame")


def test_read_only_queries_still_work(ws, fvc, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    sql = 'SELECT i.video_id, s.fold FROM "index" i JOIN splits s USING (video_id) ORDER BY 1'
    dest = tmp_path / "joined.csv"
    code, out, err = fvc("query", sql, "--out", str(dest), "-w", str(ws.root))
    assert code == 0, err
    assert pd.read_csv(dest).values.tolist() == [["a", 0], ["b", 1], ["c", 0]]
    with connect(ws) as an:
        assert an.sql("DESCRIBE splits")["column_name"].tolist() == ["video_id", "fold"]
