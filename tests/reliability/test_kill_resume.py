"""``kill -9`` at 3 random points of ``fvc run --to features2``, then a re-run: every table equals an
uninterrupted run's, ``fvc status`` is right after each kill, and no worker outlives its run.

The kill points are drawn from the events a run goes through (a table
written, the n-th finished video of a per-video stage); the seed is printed on
failure (``FVC_KILL_SEED`` replays it).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
from test_run import corpus, small_workspace

from fvc.config import load_config
from fvc.pipeline import STAGES, RunOptions, run_pipeline, status_rows
from fvc.workspace import Workspace

FVC = str(Path(sys.executable).with_name("fvc"))
LAST = "features2"
TABLES = {"setup": "videos", "index": "index", "splits": "splits", "augment": "augmented", "features2": "features_stage2"}
TIMING_COLUMNS: tuple[str, ...] = ()  # no table has one today; listed so a new one is excluded on purpose


def events() -> list[tuple[str, str, int]]:
    """Observable points of a run: ('table', name, 0) written, or ('parts', table, n) n videos finished."""
    out = [("table", t, 0) for t in ("videos", "index", "splits", "augmented")]
    out += [("parts", name, n) for name in ("augmented", "features_stage2") for n in range(1, 8)]
    return out


def reached(ws: Workspace, event: tuple[str, str, int]) -> bool:
    kind, name, n = event
    if kind == "table":
        return ws.has(name)
    parts = ws.tables_dir / f"{name}.parts"
    return parts.is_dir() and len(list(parts.glob("*.parquet"))) >= n


def run_cmd(ws: Workspace, src: Path) -> list[str]:
    return [FVC, "run", "-w", str(ws.root), "--archives", str(src), "--to", LAST, "--workers", "2"]


def same_table(a: pd.DataFrame, b: pd.DataFrame) -> None:
    key = [c for c in ("video_id", "path", "row_id") if c in a.columns]
    a, b = (t.drop(columns=[c for c in TIMING_COLUMNS if c in t.columns]).sort_values(key).reset_index(drop=True)
            for t in (a, b))
    pd.testing.assert_frame_equal(a, b)


def workspace(root: Path) -> Workspace:
    return small_workspace(root)[0]  # one augmented copy per video


def test_kill_at_three_random_points_then_resume(tmp_path):
    seed = int(os.environ.get("FVC_KILL_SEED", time.time_ns() % 100_000))
    rng = random.Random(seed)
    src = corpus(tmp_path / "corpus")
    env = dict(os.environ, CI="true")
    ref = workspace(tmp_path / "ref")
    out = subprocess.run(run_cmd(ref, src), env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr

    ws = workspace(tmp_path / "ws")
    points = sorted(rng.sample(range(len(events())), 3))
    for k in points:
        event = events()[k]
        proc = subprocess.Popen(run_cmd(ws, src), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True)
        family: list[psutil.Process] = []
        try:
            deadline = time.monotonic() + 120
            while proc.poll() is None and not reached(ws, event) and time.monotonic() < deadline:
                family = psutil.Process(proc.pid).children(recursive=True) or family
                time.sleep(0.002)
            proc.send_signal(signal.SIGKILL)  # the run only: its workers must go with it
        finally:
            proc.wait()
        _, alive = psutil.wait_procs(family, timeout=15)
        assert not alive, f"seed {seed}: workers outlived the killed run: {alive}"
        # After the kill: a stage reported up to date holds exactly the uninterrupted run's table.
        rows = status_rows(ws, load_config(ws))
        for row in rows[: STAGES.index(LAST) + 1]:
            if row["status"] == "up to date":
                same_table(ws.read(TABLES[row["stage"]]), ref.read(TABLES[row["stage"]]))
        last_status = {r["stage"]: r["status"] for r in rows}

    report = run_pipeline(ws, load_config(ws), RunOptions(archives=src, workers=2), None, LAST)
    assert report.error is None, f"seed {seed}: {report.error}"
    for r in report.results[: STAGES.index(LAST) + 1]:
        if last_status[r.stage] == "up to date":  # what status promised, the re-run kept
            assert (r.status, r.done) == ("up to date", 0), f"seed {seed}: {r}"
    for name in ("videos", "metadata", "unmatched_files", "index", "splits", "augmented", "features_stage2"):
        same_table(ws.read(name), ref.read(name))
    assert [r["status"] for r in status_rows(ws, load_config(ws))][: STAGES.index(LAST) + 1] == ["up to date"] * 5
    assert not list(ws.tables_dir.glob("**/.*.tmp")), "a temporary file was left behind"
