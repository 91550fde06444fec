import pandas as pd

from fvc.errors import VideoError
from fvc.stages import clear_stage, run_stage
from fvc.workspace import Workspace


def test_resume_skips_done_rows_and_records_errors(tmp_path):
    ws = Workspace(tmp_path).ensure()
    calls = []

    def work(row):
        calls.append(row["video_id"])
        if row["video_id"] == "bad":
            raise VideoError("bad.mp4", "decode failed")
        return {"value": row["n"] * 2}

    rows = [{"video_id": v, "n": i} for i, v in enumerate(["a", "bad", "c"])]
    table, summary = run_stage(ws, "demo", rows, work, config_hash="h1")
    assert (summary.done, summary.failed, summary.skipped) == (2, 1, 0)
    assert table.set_index("video_id").loc["bad", "error"] == "bad.mp4: decode failed"
    assert table.set_index("video_id").loc["c", "value"] == 4

    calls.clear()
    table2, summary2 = run_stage(ws, "demo", rows, work, config_hash="h1")
    assert summary2.skipped == 3 and calls == []
    pd.testing.assert_frame_equal(table.reset_index(drop=True), table2.reset_index(drop=True))

    # a new config hash recomputes everything
    _, summary3 = run_stage(ws, "demo", rows, work, config_hash="h2")
    assert summary3.skipped == 0 and len(calls) == 3


def test_multi_row_outputs_and_clear(tmp_path):
    ws = Workspace(tmp_path).ensure()
    rows = [{"video_id": "a"}]
    table, _ = run_stage(ws, "aug", rows, lambda r: [{"aug": 0}, {"aug": 1}], config_hash="x")
    assert table["aug"].tolist() == [0, 1]
    assert (table["video_id"] == "a").all()
    clear_stage(ws, "aug")
    assert not ws.has("aug")
    assert not (ws.tables_dir / "aug.parts").exists()


def test_torn_part_file_is_redone(tmp_path):
    ws = Workspace(tmp_path).ensure()
    run_stage(ws, "s", [{"video_id": "a"}], lambda r: {"v": 1}, config_hash="h")
    part = next((ws.tables_dir / "s.parts").iterdir())
    part.write_bytes(b"torn")
    table, summary = run_stage(ws, "s", [{"video_id": "a"}], lambda r: {"v": 2}, config_hash="h")
    assert summary.done == 1 and table["v"].item() == 2
