import pandas as pd
import pytest

from fvc.errors import InputError
from fvc.workspace import Workspace, atomic_path, atomic_write_text


def test_resolve_prefers_argument_then_env(tmp_path, monkeypatch):
    monkeypatch.setenv("FVC_WORKSPACE", str(tmp_path / "env"))
    assert Workspace.resolve().root == (tmp_path / "env").resolve()
    assert Workspace.resolve(tmp_path / "arg").root == (tmp_path / "arg").resolve()
    monkeypatch.delenv("FVC_WORKSPACE")
    monkeypatch.chdir(tmp_path)
    assert Workspace.resolve().root == (tmp_path / "fvc-workspace").resolve()


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "t.txt"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError, match="crash mid-write"):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.txt"]


def test_tables_round_trip_and_missing_table_error(tmp_path):
    ws = Workspace(tmp_path).ensure()
    ws.write("things", pd.DataFrame({"video_id": ["a"], "x": [1.5]}))
    assert ws.has("things")
    assert ws.read("things")["x"].item() == 1.5
    with pytest.raises(InputError, match="nothing.parquet: table not found"):
        ws.read("nothing")
    (ws.tables_dir / "junk.parquet").write_text("not parquet")
    with pytest.raises(InputError, match="not a readable Parquet table"):
        ws.read("junk")
