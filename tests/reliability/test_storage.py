"""A full disk and a read-only workspace: one line naming the path and the OS error, the video never
blamed, nothing half-written left looking complete, and a re-run completes once there is room."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from test_run import corpus, small_workspace

from fvc.config import load_config
from fvc.pipeline import status_rows
from fvc.video.io import iter_frames
from fvc.workspace import Workspace


def one_line(code: int, err: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@contextlib.contextmanager
def mounted(args: list[str], target: Path):
    """``mount ARGS TARGET`` for the test's duration; skipped (with the reason) where that is not allowed."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs or a read-only bind mount")
    target.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip(f"mount not permitted here: {out.stderr.strip()}")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """Fill the disk with one file, then give back ``leave`` bytes."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def test_full_disk_is_one_line_and_a_rerun_completes(tmp_path, fvc):
    src = corpus(tmp_path / "corpus")
    ref, _ = small_workspace(tmp_path / "ref")
    code, _, err = fvc("run", "-w", str(ref.root), "--archives", str(src), "--to", "features2", "--workers", "1")
    assert code == 0, err
    with mounted(["-t", "tmpfs", "-o", "size=4m", "tmpfs"], tmp_path / "disk") as disk:
        ws, _ = small_workspace(disk / "ws")
        code, _, err = fvc("run", "-w", str(ws.root), "--archives", str(src), "--to", "splits")
        assert code == 0, err
        filler = fill(disk, leave=24 * 1024)
        code, _, err = fvc("run", "-w", str(ws.root), "--to", "features2", "--workers", "1")
        line = one_line(code, err)
        assert "No space left on device" in line and str(ws.root) in line, line
        assert "decode failed" not in line and "frame" not in line  # the disk's fault, not a video's

        # Nothing half-written looks complete: every finished row is whole, no video was blamed.
        for part in (ws.tables_dir / "augmented.parts").glob("*.parquet"):
            rows = pd.read_parquet(part)
            assert rows["error"].isna().all(), rows["error"].tolist()
            for p in rows["path"]:
                n = int(rows.loc[rows["path"] == p, "n_frames"].fillna(0).max())
                assert n == 0 or len(list(iter_frames(ws.root / p))) == n
        for video in ws.stage_dir("augment").glob("[!.]*.mp4"):  # a final name means a finished file
            assert list(iter_frames(video))
        assert not ws.has("features_stage2")

        filler.unlink()  # room again: the same command finishes the work
        code, _, err = fvc("run", "-w", str(ws.root), "--to", "features2", "--workers", "1")
        assert code == 0, err
        for name in ("augmented", "features_stage2"):
            pd.testing.assert_frame_equal(ws.read(name), ref.read(name), obj=name)
        assert all(r["status"] == "up to date" for r in status_rows(ws, load_config(ws))[:5])


@pytest.fixture(scope="module")
def to_splits(tmp_path_factory) -> Workspace:
    from fvc.cli import main

    tmp = tmp_path_factory.mktemp("storage")
    ws, _ = small_workspace(tmp / "ws")
    with pytest.raises(SystemExit) as done:
        main(["run", "-w", str(ws.root), "--archives", str(corpus(tmp / "corpus")), "--to", "splits"])
    assert done.value.code == 0
    return ws


@pytest.mark.parametrize("argv", [["run", "--from", "augment", "--to", "features2"], ["index"], ["splits"],
                                  ["augment"], ["features"], ["scale"]])
def test_read_only_workspace_is_one_line_and_changes_nothing(tmp_path, fvc, argv, to_splits):
    ws = Workspace(tmp_path / "ws")
    shutil.copytree(to_splits.root, ws.root)
    before = {p: p.read_bytes() for p in ws.root.rglob("*") if p.is_file()}
    with mounted(["--bind", "-o", "ro", str(ws.root)], tmp_path / "ro") as ro:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], check=True)
        code, _, err = fvc(*argv, "-w", str(ro))
        line = one_line(code, err)
        assert line.startswith(f"error: {ro}/") and "Read-only file system" in line, line
        rows = status_rows(Workspace(ro), load_config(Workspace(ro)))  # reading still works
        assert [r["status"] for r in rows[:3]] == ["up to date"] * 3
    assert {p: p.read_bytes() for p in ws.root.rglob("*") if p.is_file()} == before
