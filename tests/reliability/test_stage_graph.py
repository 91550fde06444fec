"""The declared stage graph on a tiny corpus: nothing runs twice, folds never go stale in stage
tables, failed rows are retried, and ``fvc status`` says what the next run will do."""

from __future__ import annotations

import pytest
from test_run import corpus, small_workspace

from fvc.config import load_config
from fvc.pipeline import GRAPH, STAGES, RunOptions, run_pipeline, status_rows
from fvc.stages import Stage, order
from fvc.workspace import Workspace

STAGE_TABLES = ("augmented", "features_stage2", "scaled", "features_stage4")


@pytest.fixture
def built(tmp_path, fvc):
    """A workspace run to features2 through the CLI: (workspace, corpus folder)."""
    src = corpus(tmp_path / "corpus")
    ws, _ = small_workspace(tmp_path / "ws")
    code, _, err = fvc("run", "-w", str(ws.root), "--archives", str(src), "--to", "features2", "--workers", "1")
    assert code == 0, err
    return ws, src


def states(ws: Workspace) -> dict[str, tuple[str, str]]:
    return {r["stage"]: (r["status"], r["reason"]) for r in status_rows(ws, load_config(ws))}


def test_the_order_comes_from_the_declarations():
    assert STAGES == ("setup", "index", "splits", "augment", "features2", "scale", "features4", "train")
    shuffled = list(reversed(GRAPH))
    assert [s.name for s in order(shuffled)].index("augment") > [s.name for s in order(shuffled)].index("splits")
    with pytest.raises(ValueError, match="cycle"):
        order([Stage("a", output="x", inputs=("y",)), Stage("b", output="y", inputs=("x",))])


def test_a_second_run_with_nothing_changed_runs_nothing(built):
    ws, src = built
    written = {p.name: p.stat().st_mtime_ns for p in ws.tables_dir.glob("*.parquet")}
    report = run_pipeline(ws, load_config(ws), RunOptions(archives=src), None, "features2")
    assert report.error is None, report.error
    for r in report.results[: STAGES.index("features2") + 1]:
        assert (r.stage, r.status, r.done, r.failed) == (r.stage, "up to date", 0, 0)
    # setup looked at the archives again and rewrote its tables with the same content: nothing downstream ran
    for name in ("index", "splits", "augmented", "features_stage2"):
        assert ws.table(name).stat().st_mtime_ns == written[f"{name}.parquet"], name
    assert all(s == "up to date" for s, _ in list(states(ws).values())[: STAGES.index("features2") + 1])


def test_new_folds_never_reach_training_through_stage_tables(built, fvc):
    from fvc.experiment.feature_adapter import load_feature_rows

    ws, _ = built
    code, _, err = fvc("splits", "-w", str(ws.root), "--folds", "3", "--seed", "7")
    assert code == 0, err
    st = states(ws)
    assert st["splits"][0] == "up to date"
    assert st["augment"] == ("stale", "input 'splits' changed")
    code, _, err = fvc("run", "-w", str(ws.root), "--from", "augment", "--to", "features2", "--workers", "1")
    assert code == 0, err
    for name in STAGE_TABLES:
        if ws.has(name):
            assert "fold" not in ws.read(name).columns, name
    rows, _, _ = load_feature_rows(ws, [2])
    splits = ws.read("splits").set_index("video_id")["fold"]
    assert (rows["fold"].to_numpy() == rows["source_video_id"].map(splits).to_numpy()).all()
    assert sorted(rows["fold"].unique()) == [0, 1, 2]


def test_failed_rows_are_retried_by_default_and_counted(built):
    ws, src = built
    video = src / "f1.mp4"
    moved = src / "f1.mp4.away"
    video.rename(moved)  # another process moved it: an environmental failure, not a bad video
    cfg = load_config(ws)
    cfg.augment.per_video = 2  # new copies for every video, so augment runs and f1 fails
    first = {r.stage: r for r in run_pipeline(ws, cfg, RunOptions(), "augment", "augment").results}["augment"]
    assert (first.failed, first.done) == (1, 7)
    moved.rename(video)

    kept = {r.stage: r for r in run_pipeline(ws, cfg, RunOptions(retry_failed=False), "augment", "augment").results}
    assert (kept["augment"].status, kept["augment"].failed, kept["augment"].retried) == ("up to date", 1, 0)
    assert ws.read("augmented")["error"].notna().sum() == 1
    assert "1 failed rows" in states(ws)["augment"][1]

    again = {r.stage: r for r in run_pipeline(ws, cfg, RunOptions(), "augment", "augment").results}["augment"]
    assert (again.status, again.done, again.retried, again.failed, again.skipped) == ("ran", 1, 1, 0, 7)
    table = ws.read("augmented")
    assert table["error"].isna().all() and (table["source_video_id"] == "f1").sum() == 3


def test_status_names_the_reason_and_what_is_missing(built):
    ws, _ = built
    st = states(ws)
    assert [st[s][0] for s in STAGES] == ["up to date"] * 5 + ["missing"] * 3
    cfg = load_config(ws)
    cfg.features.max_frames = 3
    ws.config_path.write_text(cfg.to_yaml())
    st = states(ws)
    assert st["augment"][0] == "up to date"
    assert st["features2"] == ("stale", "config features changed")
    cfg.splits.seed = 8
    ws.config_path.write_text(cfg.to_yaml())
    st = states(ws)
    assert st["splits"] == ("stale", "config splits changed")
    assert st["augment"] == ("stale", "upstream splits not up to date")  # it will read new splits
    ws.table("index").unlink()
    st = states(ws)
    assert st["index"] == ("missing", "no table 'index'")
    assert st["splits"] == ("stale", "config splits changed; input 'index' is missing")


def test_status_on_the_command_line(built, fvc):
    ws, _ = built
    code, out, err = fvc("status", "-w", str(ws.root))
    assert code == 0, err
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith("│ ")}
    assert "up to date" in lines["features2"] and "missing" in lines["scale"]
    code, _, err = fvc("status", "-w", str(ws.root.parent / "nowhere"))
    assert code == 2 and "no workspace here" in err
