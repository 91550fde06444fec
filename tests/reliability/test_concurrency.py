"""Two processes on one workspace: the second exits at once naming the holder, or waits with --wait."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import fvc
from fvc.errors import WorkspaceBusyError
from fvc.workspace import Workspace

SRC = str(Path(fvc.__file__).resolve().parents[1])
HOLD = """
import sys, time
from fvc.workspace import Workspace
with Workspace(__import__("pathlib").Path(sys.argv[1])).lock("fvc run --from augment"):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold(root: Path, seconds: float) -> subprocess.Popen:
    """Another process holding the workspace lock for ``seconds``, started once it holds it."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(root), str(seconds)], stdout=subprocess.PIPE,
                            text=True, env=dict(os.environ, PYTHONPATH=SRC))
    assert proc.stdout.readline().strip() == "locked"
    return proc


@pytest.mark.parametrize("argv", [["run", "--from", "index"], ["features"], ["splits", "--folds", "3"], ["augment"],
                                  ["setup", "--archives", "."], ["train", "--model", "5a"]])
def test_a_second_writer_exits_at_once_naming_the_holder(tmp_path, fvc, argv):
    ws = Workspace(tmp_path / "ws").ensure()
    (ws.root / "fvc.yaml").write_text("seed: 1\n")
    holder = hold(ws.root, 300)
    try:
        code, _, err = fvc(*argv, "-w", str(ws.root))
        waited = holder.poll() is not None
    finally:
        holder.kill()
        holder.wait()
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert f"workspace in use by pid {holder.pid} (fvc run --from augment)" in lines[0] and "--wait" in lines[0]
    assert not waited  # at once, not after the holder
    assert (ws.root / "fvc.yaml").read_text() == "seed: 1\n"  # nothing written, fvc.yaml included
    assert not any(ws.tables_dir.iterdir())


def test_wait_blocks_until_the_holder_is_done_then_runs(tmp_path, fvc):
    import pandas as pd

    ws = Workspace(tmp_path / "ws").ensure()
    rows = [{"video_id": f"{c}_{j}", "cascade_id": c, "label": int(c[0] == "f"), "error": None}
            for c in ("f0", "f1", "f2", "r0", "r1", "r2") for j in range(2)]
    ws.write("index", pd.DataFrame(rows).astype({"label": "Int64"}))
    holder = hold(ws.root, 2)
    code, _, err = fvc("splits", "-w", str(ws.root), "--folds", "2", "--wait")
    assert holder.poll() is not None  # it ran after the holder had finished
    assert code == 0, err
    assert f"waiting for pid {holder.pid} (fvc run --from augment)" in err
    assert sorted(ws.read("splits")["fold"].unique()) == [0, 1]


def test_the_lock_dies_with_its_holder(tmp_path):
    ws = Workspace(tmp_path / "ws").ensure()
    holder = hold(ws.root, 60)
    with pytest.raises(WorkspaceBusyError, match=f"pid {holder.pid}"):
        with ws.lock("second"):
            pass
    holder.kill()  # kill -9: no clean-up ran, the kernel released the lock
    holder.wait()
    with ws.lock("third"):
        assert (ws.lock_path).read_text().startswith(f"pid {os.getpid()} (third)")


def test_a_lock_on_a_new_workspace_leaves_nothing_behind(tmp_path):
    ws = Workspace(tmp_path / "new")
    with ws.lock("fvc setup"):
        assert ws.root.is_dir()
    assert not ws.root.exists()
