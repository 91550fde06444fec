"""synth -> setup -> index -> splits through the CLI, as a user types it."""

import pandas as pd
import pytest

from fvc.cli import main


def fvc(*args: str) -> None:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    assert exc.value.code == 0, f"fvc {' '.join(args)} exited {exc.value.code}"


def test_synth_setup_index_splits(tmp_path, capsys):
    archives, ws = tmp_path / "archives", tmp_path / "ws"
    fvc("synth", "--out", str(archives), "--videos", "40", "--seed", "3", "--max-height", "144", "--max-duration", "2")
    for name in ("FVC1.zip", "FVC2.zip", "FVC3.zip", "Metadata.zip"):
        assert (archives / name).exists()
    fvc("setup", "-w", str(ws), "--archives", str(archives), "--password", "fvc-synth")
    fvc("index", "-w", str(ws))
    fvc("splits", "-w", str(ws), "--folds", "3", "--seed", "1")
    out = capsys.readouterr().out

    truth = pd.read_csv(archives / "ground_truth.csv")
    videos = pd.read_parquet(ws / "tables" / "videos.parquet")
    index = pd.read_parquet(ws / "tables" / "index.parquet")
    splits = pd.read_parquet(ws / "tables" / "splits.parquet")

    assert len(videos) == len(truth) == 40
    assert index["error"].isna().all()
    assert set(index["codec"]) >= {"h264", "vp9"}
    # every labelled video gets a fold, no cascade spans two folds
    labelled = splits[splits["label"].notna()]
    assert (labelled["fold"] >= 0).all()
    assert splits.groupby("group_id")["fold"].nunique().max() == 1
    assert set(labelled["fold"]) == {0, 1, 2}
    # labels survive the whole chain
    merged = index.merge(truth, left_on=index["path"].map(lambda p: p.rsplit("/", 1)[-1]), right_on="file_name")
    assert (merged["label_raw_x"] == merged["label_raw_y"]).all()
    assert (ws / "artifacts" / "plots" / "resolution_scatter.png").exists()
    assert "Folds" in out

    # re-running setup is idempotent: same table, nothing re-extracted
    fvc("setup", "-w", str(ws), "--archives", str(archives), "--password", "fvc-synth")
    again = pd.read_parquet(ws / "tables" / "videos.parquet")
    pd.testing.assert_frame_equal(videos, again)


def test_bad_workspace_table_is_one_line_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["splits", "-w", str(tmp_path / "empty")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "index.parquet: table not found" in err
    assert "Traceback" not in err
