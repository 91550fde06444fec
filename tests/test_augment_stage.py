"""Stage 1 over a tiny workspace: table contract, no folds copied, resume after a kill."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import write_video

from fvc.augment.stage import COLUMNS, run_augment
from fvc.config import FvcConfig
from fvc.workspace import Workspace

FVC = str(Path(sys.executable).with_name("fvc"))


def make_workspace(root: Path, n: int = 3, frames: int = 12, size=(64, 48)) -> Workspace:
    """index + splits tables over n tiny videos, plus one broken and one unlabelled row."""
    ws = Workspace(root).ensure()
    rows, splits = [], []
    for i in range(n):
        write_video(root / "raw" / f"v{i}.mp4", frames=frames, width=size[0], height=size[1], seed=i)
        rows.append({"video_id": f"v{i}", "path": f"raw/v{i}.mp4", "error": None})
        splits.append({"video_id": f"v{i}", "cascade_id": f"c{i}", "group_id": f"g{i}", "label": i % 2, "fold": i % 5})
    rows.append({"video_id": "bad", "path": "raw/bad.mp4", "error": "raw/bad.mp4: not a readable video"})
    write_video(root / "raw" / "unl.mp4", frames=frames, width=size[0], height=size[1])
    rows.append({"video_id": "unl", "path": "raw/unl.mp4", "error": None})
    splits.append({"video_id": "unl", "cascade_id": "cu", "group_id": "gu", "label": None, "fold": -1})
    ws.write("index", pd.DataFrame(rows))
    sp = pd.DataFrame(splits)
    sp["label"] = sp["label"].astype("Int64")
    ws.write("splits", sp)
    return ws


def test_table_contract_and_folds(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    table, summary = run_augment(ws, FvcConfig(), per_video=2)
    assert (summary.done, summary.skipped, summary.failed) == (3, 0, 0)
    assert list(table.columns[: len(COLUMNS)]) == COLUMNS
    assert len(table) == 9 and set(table["source_video_id"]) == {"v0", "v1", "v2"}  # bad and unl skipped
    assert table["error"].isna().all()
    assert "fold" not in table.columns  # training joins folds from splits: a copy here could go stale
    splits = ws.read("splits").set_index("video_id")
    for _, r in table.iterrows():
        src = splits.loc[r["source_video_id"]]
        assert (r["cascade_id"], r["group_id"], r["label"]) == (src["cascade_id"], src["group_id"], src["label"])
        if r["aug_index"] == 0:
            assert r["path"] == f"raw/{r['video_id']}.mp4" and not r["is_augmented"]
        else:
            assert (ws.root / r["path"]).exists() and r["is_augmented"]
            assert json.loads(r["params"])["ops"]
    assert not list(ws.stage_dir("augment").glob(".*"))  # no temp files left
    again, s2 = run_augment(ws, FvcConfig(), per_video=2)
    assert (s2.done, s2.skipped) == (0, 3)
    pd.testing.assert_frame_equal(again, table)


def test_unlabelled_included_when_configured(tmp_path):
    ws = make_workspace(tmp_path / "ws", n=1)
    cfg = FvcConfig()
    cfg.augment.include_unlabeled = True
    table, _ = run_augment(ws, cfg, per_video=1)
    assert set(table["source_video_id"]) == {"v0", "unl"}
    assert table.loc[table["source_video_id"] == "unl", "label"].isna().all()


def test_unreadable_video_becomes_error_row(tmp_path):
    ws = make_workspace(tmp_path / "ws", n=1)
    (ws.root / "raw" / "v0.mp4").write_bytes(b"not a video")
    table, summary = run_augment(ws, FvcConfig(), per_video=1)
    assert summary.failed == 1
    row = table.iloc[0]
    assert row["source_video_id"] == "v0" and row["group_id"] == "g0" and "v0.mp4" in row["error"]


def test_cli_augment(tmp_path):
    from typer.testing import CliRunner

    from fvc.cli import app

    ws = make_workspace(tmp_path / "ws", n=1)
    res = CliRunner().invoke(app, ["augment", "-w", str(ws.root), "--per-video", "1"])
    assert res.exit_code == 0, res.output
    assert len(ws.read("augmented")) == 2
    assert "per_video: 1" in ws.config_path.read_text()


def test_resume_after_kill(tmp_path):
    ws = make_workspace(tmp_path / "ws", n=6, frames=40, size=(96, 64))
    # the same source files for the uninterrupted run (a copy is cheaper than writing them again)
    shutil.copytree(ws.root, tmp_path / "ws2")
    cmd = [FVC, "augment", "-w", str(ws.root), "--per-video", "3"]
    env = dict(os.environ, CI="true")
    parts = ws.tables_dir / "augmented.parts"
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not (parts.exists() and list(parts.glob("*.parquet"))):
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_parts = list(parts.glob("*.parquet"))
    assert 1 <= len(done_parts) < 6, "the run was not interrupted mid-way"
    assert not ws.has("augmented")
    finished = pd.concat([pd.read_parquet(p) for p in done_parts])
    finished = finished[finished["is_augmented"]]
    mtimes = {p: os.stat(ws.root / p).st_mtime_ns for p in finished["path"]}

    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for p, m in mtimes.items():
        assert os.stat(ws.root / p).st_mtime_ns == m  # finished videos were skipped, not redone
    table = ws.read("augmented")
    assert len(table) == 6 * 4 and table["error"].isna().all()
    assert sorted(table["video_id"]) == sorted([f"v{i}" for i in range(6)] + [f"v{i}__aug{k:02d}" for i in range(6) for k in (1, 2, 3)])
    assert all((ws.root / p).exists() for p in table["path"])
    assert not list(ws.stage_dir("augment").glob(".*"))
    ws2 = Workspace(tmp_path / "ws2")
    fresh, _ = run_augment(ws2, FvcConfig(), per_video=3)
    cols = ["video_id", "params", "n_frames", "group_id"]
    pd.testing.assert_frame_equal(table[cols].reset_index(drop=True), fresh[cols].reset_index(drop=True))
    # the videos themselves: the killed-and-resumed run decodes to the same pixels as an uninterrupted one
    resumed = decoded_hashes(ws, table[table["is_augmented"]])
    assert resumed == decoded_hashes(ws2, fresh[fresh["is_augmented"]])
    assert len(set(resumed.values())) == len(resumed) == 18  # real, different copies


def decoded_hashes(ws: Workspace, table: pd.DataFrame) -> dict[str, str]:
    """video id -> sha256 over the decoded RGB frames of its file."""
    import hashlib

    from fvc.video.io import iter_frames

    out = {}
    for vid, path in zip(table["video_id"], table["path"]):
        h = hashlib.sha256()
        for _, frame in iter_frames(ws.root / path):
            h.update(frame.tobytes())
        out[str(vid)] = h.hexdigest()
    return out


def test_negative_per_video_is_input_error(tmp_path):
    from fvc.errors import InputError

    ws = make_workspace(tmp_path / "ws", n=1)
    with pytest.raises(InputError, match="--per-video: must be >= 0"):
        run_augment(ws, FvcConfig(), per_video=-1)
