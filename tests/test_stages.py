"""The per-row runner: resume by freshness key, retries, storage errors, bugs, and the process pool."""

import errno
import functools
import os
import signal
import time

import pandas as pd
import pytest

from fvc.config import FvcConfig
from fvc.errors import MissingDependencyError, StorageError, VideoError
from fvc.stages import Stage, clear_stage, run_stage
from fvc.workspace import Workspace

DEMO = Stage("demo", output="demo", config=("features",), per_video=True)


def double(calls, row):
    calls.append(row["video_id"])
    if row["video_id"] == "bad":
        raise VideoError("bad.mp4", "decode failed")
    return {"value": row["n"] * 2}


def rows_of(*ids):
    return [{"video_id": v, "n": i} for i, v in enumerate(ids)]


def test_resume_skips_done_rows_and_retries_failed_ones(tmp_path):
    ws = Workspace(tmp_path).ensure()
    cfg = FvcConfig()
    calls: list[str] = []
    fn = functools.partial(double, calls)
    rows = rows_of("a", "bad", "c")
    table, summary = run_stage(ws, DEMO, cfg, rows, fn)
    assert (summary.done, summary.failed, summary.skipped) == (2, 1, 0)
    assert table.set_index("video_id").loc["bad", "error"] == "bad.mp4: decode failed"
    assert table.set_index("video_id").loc["c", "value"] == 4

    calls.clear()  # nothing changed: no row runs, not even the failed one when told not to retry
    table2, summary2 = run_stage(ws, DEMO, cfg, rows, fn, retry_failed=False)
    assert calls == [] and (summary2.skipped, summary2.failed, summary2.retried) == (2, 1, 0)
    pd.testing.assert_frame_equal(table, table2)

    calls.clear()  # by default the error row is retried, and counted
    _, summary3 = run_stage(ws, DEMO, cfg, rows, fn)
    assert calls == ["bad"] and (summary3.skipped, summary3.failed, summary3.retried) == (2, 1, 1)


def test_retried_row_that_now_works_replaces_its_error_row(tmp_path):
    ws = Workspace(tmp_path).ensure()
    broken = {"disk": True}

    def flaky(row):
        if row["video_id"] == "b" and broken["disk"]:
            raise VideoError("b.mp4", "file renamed by another process")
        return {"value": 1}

    run_stage(ws, DEMO, FvcConfig(), rows_of("a", "b"), flaky)
    broken["disk"] = False
    table, summary = run_stage(ws, DEMO, FvcConfig(), rows_of("a", "b"), flaky)
    assert (summary.done, summary.retried, summary.failed) == (1, 1, 0)
    assert table["error"].isna().all() and ws.read("demo")["error"].isna().all()


def test_row_key_covers_config_version_and_row_inputs(tmp_path):
    ws = Workspace(tmp_path).ensure()
    cfg = FvcConfig()
    calls: list[str] = []
    fn = functools.partial(double, calls)
    run_stage(ws, DEMO, cfg, rows_of("a", "c"), fn)

    calls.clear()  # one row's input changed: that row only
    rows = rows_of("a", "c")
    rows[1]["n"] = 7
    table, _ = run_stage(ws, DEMO, cfg, rows, fn)
    assert calls == ["c"] and table.set_index("video_id").loc["c", "value"] == 14

    calls.clear()  # a config section the stage reads: every row
    cfg.features.sample_fraction = 0.5
    run_stage(ws, DEMO, cfg, rows, fn)
    assert sorted(calls) == ["a", "c"]

    calls.clear()  # a section it does not read: nothing
    cfg.scale.size = 128
    run_stage(ws, DEMO, cfg, rows, fn)
    assert calls == []

    calls.clear()  # a new stage version: every row
    run_stage(ws, Stage("demo", output="demo", config=("features",), version="2"), cfg, rows, fn)
    assert sorted(calls) == ["a", "c"]


def test_multi_row_outputs_and_clear(tmp_path):
    ws = Workspace(tmp_path).ensure()
    stage = Stage("aug", output="aug")
    table, _ = run_stage(ws, stage, FvcConfig(), [{"video_id": "a"}], lambda r: [{"aug": 0}, {"aug": 1}])
    assert table["aug"].tolist() == [0, 1]
    assert (table["video_id"] == "a").all()
    clear_stage(ws, "aug")
    assert not ws.has("aug")
    assert not (ws.tables_dir / "aug.parts").exists()


def test_torn_part_file_is_redone(tmp_path):
    ws = Workspace(tmp_path).ensure()
    stage = Stage("s", output="s")
    run_stage(ws, stage, FvcConfig(), [{"video_id": "a"}], lambda r: {"v": 1})
    part = next((ws.tables_dir / "s.parts").iterdir())
    part.write_bytes(b"torn")
    ws.table("s").unlink()
    table, summary = run_stage(ws, stage, FvcConfig(), [{"video_id": "a"}], lambda r: {"v": 2})
    assert summary.done == 1 and table["v"].item() == 2


def test_temporary_files_a_killed_write_left_are_removed_by_the_next_run(tmp_path):
    ws = Workspace(tmp_path).ensure()
    stage = Stage("s", output="s")
    run_stage(ws, stage, FvcConfig(), [{"video_id": "a"}], lambda r: {"v": 1})
    torn = [ws.tables_dir / "s.parts" / ".r1-abc.parquet.x1y2.tmp", ws.tables_dir / ".s.parquet.z3.tmp"]
    for path in torn:  # what kill -9 leaves between mkstemp and the rename
        path.write_bytes(b"half a parquet")
    other = ws.tables_dir / ".t.parquet.q9.tmp"  # another table's write: not this stage's to remove
    other.write_bytes(b"x")
    table, summary = run_stage(ws, stage, FvcConfig(), [{"video_id": "a"}], lambda r: {"v": 2})
    assert summary.skipped == 1 and table["v"].item() == 1
    assert not any(p.exists() for p in torn) and other.exists()


def test_a_bug_in_our_code_stops_the_run_instead_of_becoming_an_error_row(tmp_path):
    ws = Workspace(tmp_path).ensure()

    def buggy(row):
        return {"v": row["missing_column"]}

    with pytest.raises(KeyError, match="missing_column"):
        run_stage(ws, DEMO, FvcConfig(), rows_of("a"), buggy)
    assert not ws.has("demo") and not list((ws.tables_dir / "demo.parts").iterdir())


def test_a_full_disk_stops_the_run_without_blaming_the_video(tmp_path):
    ws = Workspace(tmp_path).ensure()

    def write_video(row):
        if row["video_id"] == "c":
            try:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            except OSError as exc:  # as a decoder wraps it
                raise VideoError("c.mp4", "decode failed at frame 98 (No space left on device)") from exc
        return {"v": 1}

    with pytest.raises(StorageError, match="No space left on device") as err:
        run_stage(ws, Stage("s", output="s", files="s"), FvcConfig(), rows_of("a", "c"), write_video)
    assert "c.mp4" not in str(err.value) and str(ws.stage_dir("s")) in str(err.value)
    parts = list((ws.tables_dir / "s.parts").iterdir())
    assert len(parts) == 1 and pd.read_parquet(parts[0])["video_id"].tolist() == ["a"]  # no error row for c
    assert not ws.has("s")


def test_a_missing_dependency_stops_the_run_instead_of_failing_every_video(tmp_path):
    """A worker that cannot build or load what every video needs (the compiled feature passes, a codec): one
    error that says how to get it, the rows done before it kept, no error row saved."""
    ws = Workspace(tmp_path).ensure()

    def needs_gcc(row):
        if row["video_id"] == "c":
            raise MissingDependencyError("building the compiled feature passes failed; it needs a C compiler")
        return {"v": 1}

    with pytest.raises(MissingDependencyError, match="needs a C compiler"):
        run_stage(ws, Stage("s", output="s"), FvcConfig(), rows_of("a", "c", "d"), needs_gcc)
    parts = list((ws.tables_dir / "s.parts").iterdir())
    assert len(parts) == 1 and pd.read_parquet(parts[0])["video_id"].tolist() == ["a"]
    assert not ws.has("s")
    with pytest.raises(MissingDependencyError, match="needs a C compiler"):  # and so does the pool
        run_stage(ws, Stage("s", output="s"), FvcConfig(), rows_of("a", "c", "d"), missing_dependency, workers=2)


# -- the process pool: functions must pickle, so they live at module level ----------------
def square(row):
    if row["video_id"] == "v00":
        time.sleep(0.5)  # finishes last: the table must still list it first
    if row["video_id"] == "bad":
        raise VideoError(f"{row['video_id']}.mp4", "not a readable video")
    return [{"sq": row["n"] ** 2, "k": k} for k in range(row["n"] % 3)] or {"sq": -1, "k": -1}


def missing_dependency(row):
    if row["video_id"] == "c":
        raise MissingDependencyError("building the compiled feature passes failed; it needs a C compiler")
    return {"v": 1}


def die_on_crash(row):
    if row["video_id"] == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    return {"sq": row["n"] ** 2}


def index_error(row):
    return {"v": [][row["n"]]}


def test_pool_gives_the_same_table_and_order_as_one_worker(tmp_path):
    rows = rows_of(*[f"v{i:02d}" for i in range(12)], "bad")
    one, s1 = run_stage(Workspace(tmp_path / "one").ensure(), DEMO, FvcConfig(), rows, square, workers=1)
    two, s2 = run_stage(Workspace(tmp_path / "two").ensure(), DEMO, FvcConfig(), rows, square, workers=2)
    pd.testing.assert_frame_equal(one, two)
    assert (s1.done, s1.failed) == (s2.done, s2.failed) == (12, 1)
    assert pd.read_parquet(tmp_path / "two" / "tables" / "demo.parquet").equals(ws_table(tmp_path / "one"))


def ws_table(root):
    return pd.read_parquet(root / "tables" / "demo.parquet")


def test_a_worker_crash_becomes_that_videos_error_row(tmp_path):
    ws = Workspace(tmp_path).ensure()
    rows = [{"video_id": v, "n": i, "path": f"{v}.mp4"} for i, v in enumerate(["a", "crash", "b", "c"])]
    table, summary = run_stage(ws, DEMO, FvcConfig(), rows, die_on_crash, workers=2)
    by = table.set_index("video_id")
    assert by.loc["crash", "error"] == "crash.mp4: worker process died (killed by SIGKILL) on this video"
    assert by.drop(index="crash")["error"].isna().all() and by.loc["c", "sq"] == 9
    assert (summary.done, summary.failed) == (3, 1)
    assert table["video_id"].tolist() == ["a", "crash", "b", "c"]


def test_a_bug_in_a_worker_stops_the_run_with_its_traceback(tmp_path):
    ws = Workspace(tmp_path).ensure()
    with pytest.raises(RuntimeError, match="(?s)bug in stage 'demo'.*IndexError"):
        run_stage(ws, DEMO, FvcConfig(), rows_of("a", "b", "c"), index_error, workers=2)
    assert not ws.has("demo")


SLOW_RUN = """
import os, sys, time
from pathlib import Path
from fvc.config import FvcConfig
from fvc.stages import Stage, run_stage
from fvc.workspace import Workspace

def slow(row):
    (Path(sys.argv[1]) / f"working-{os.getpid()}").touch()
    time.sleep(120)  # a long video
    return {"v": 1}

if __name__ == "__main__":
    rows = [{"video_id": f"v{i}"} for i in range(4)]
    run_stage(Workspace(Path(sys.argv[1])).ensure(), Stage("s", output="s"), FvcConfig(), rows, slow, workers=2)
"""


def test_workers_die_with_a_killed_run(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    import psutil

    import fvc

    script = tmp_path / "slow_run.py"
    script.write_text(SLOW_RUN)
    env = dict(os.environ, PYTHONPATH=str(Path(fvc.__file__).resolve().parents[1]))
    ws = tmp_path / "ws"
    proc = subprocess.Popen([sys.executable, str(script), str(ws)], env=env)
    try:
        deadline = time.monotonic() + 120
        while len(list(ws.glob("working-*"))) < 2 and time.monotonic() < deadline:  # both inside a video
            time.sleep(0.1)
        workers = [psutil.Process(int(p.name.split("-")[1]))
                   for p in ws.glob("working-*")]
        assert len(workers) == 2
    finally:
        proc.kill()  # kill -9 of the run alone
        proc.wait()
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, f"still running without their run: {alive}"
