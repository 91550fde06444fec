"""The local parallel executor on the real stages: --workers 2 gives the tables of --workers 1,
row order included (the encoder is deterministic, so the videos it writes are the same too)."""

from __future__ import annotations

import pandas as pd
from test_run import corpus, small_workspace

TABLES = ("videos", "index", "splits", "augmented", "features_stage2", "scaled", "features_stage4")


def test_two_workers_give_the_tables_of_one(tmp_path, fvc):
    src = corpus(tmp_path / "corpus")
    tables = {}
    for workers in (1, 2):
        ws, _ = small_workspace(tmp_path / f"ws{workers}")
        code, _, err = fvc("run", "-w", str(ws.root), "--archives", str(src), "--to", "features4",
                           "--workers", str(workers))
        assert code == 0, err
        tables[workers] = {name: ws.read(name) for name in TABLES}
    for name in TABLES:
        pd.testing.assert_frame_equal(tables[2][name], tables[1][name], obj=name)
    assert len(tables[2]["features_stage4"]) == 16 and tables[2]["features_stage4"]["error"].isna().all()
