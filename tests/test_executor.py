"""The local parallel executor on the real stages: --workers 2 gives the tables of --workers 1.

Each per-video stage is redone alone with 2 workers in a copy of a workspace
built with 1 worker, on the same input files, and its table compared, row
order included. (Comparing two whole runs would also compare two x264
encodes, which are not byte-identical run to run until the deterministic
encoder lands; that is the encoder's property, not the executor's.)
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from test_run import corpus, small_workspace

from fvc.workspace import Workspace

STAGES = {"augment": "augmented", "features2": "features_stage2", "scale": "scaled", "features4": "features_stage4"}
# 8 videos, one full-profile copy each; stage 2 reads the originals only (augment.profile 'none')
ROWS = {"augment": 16, "features2": 8, "scale": 16, "features4": 16}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    from fvc.cli import main

    tmp = tmp_path_factory.mktemp("executor")
    ws, _ = small_workspace(tmp / "ws1")
    with pytest.raises(SystemExit) as done:
        main(["run", "-w", str(ws.root), "--archives", str(corpus(tmp / "corpus")), "--to", "features4",
              "--workers", "1"])
    assert done.value.code == 0
    return ws


@pytest.mark.parametrize("stage", list(STAGES))
def test_two_workers_give_the_table_of_one(base, tmp_path, fvc, stage):
    table = STAGES[stage]
    ws = Workspace(tmp_path / "ws2")
    shutil.copytree(base.root, ws.root)
    shutil.rmtree(ws.tables_dir / f"{table}.parts")
    ws.table(table).unlink()
    code, out, err = fvc("run", "-w", str(ws.root), "--from", stage, "--to", stage, "--workers", "2")
    assert code == 0, err
    two, one = ws.read(table), base.read(table)
    assert len(two) == ROWS[stage] and two["error"].isna().all()
    pd.testing.assert_frame_equal(two, one)
