"""Stages 1 and 3 record what they wrote (codec, encoder settings, frames, size, fps): the table says
what a probe of each written file says, so nothing downstream has to probe it again."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import write_video

from fvc.augment.stage import WRITTEN, run_augment
from fvc.config import FvcConfig
from fvc.data.index import build_index, probe_video
from fvc.scale.stage import run_scale
from fvc.workspace import Workspace


def _workspace(root, sizes=((64, 48), (48, 80))) -> Workspace:
    """index (a real probe) + splits over videos of different sizes and frame rates."""
    ws = Workspace(root).ensure()
    rows = []
    for i, (w, h) in enumerate(sizes):
        write_video(root / "raw" / f"v{i}.mp4", frames=14 + 3 * i, width=w, height=h, fps=15 + 10 * i, seed=i)
        rows.append({"video_id": f"v{i}", "path": f"raw/v{i}.mp4", "cascade_id": f"c{i}", "label": i % 2})
    videos = pd.DataFrame(rows)
    videos["label"] = videos["label"].astype("Int64")
    ws.write("index", build_index(videos, ws.root, workers=1))
    ws.write("splits", pd.DataFrame({"video_id": videos["video_id"], "cascade_id": videos["cascade_id"],
                                     "group_id": videos["cascade_id"], "label": videos["label"],
                                     "fold": range(len(videos))}))
    return ws


def _assert_recorded_as_probed(ws: Workspace, table: pd.DataFrame) -> None:
    assert table["error"].isna().all()
    for _, r in table.iterrows():
        probe = probe_video(ws.root / r["path"])
        assert r["codec"] == probe["codec"], r["video_id"]
        assert (r["width"], r["height"]) == (probe["width"], probe["height"]), r["video_id"]
        assert r["n_frames"] == probe["frame_count"], r["video_id"]
        assert r["fps"] == pytest.approx(probe["fps"], rel=1e-6), r["video_id"]


def test_augment_records_what_it_wrote(tmp_path):
    ws = _workspace(tmp_path / "ws")
    cfg = FvcConfig()
    table, _ = run_augment(ws, cfg, per_video=3)
    assert set(WRITTEN) <= set(table.columns)
    assert table[["codec", "width", "height", "fps", "n_frames"]].notna().all().all()
    _assert_recorded_as_probed(ws, table)
    copies = table[table["is_augmented"]]
    assert len(copies) >= 6
    for enc in copies["encoder"]:
        settings = json.loads(enc)
        assert settings["codec"] == "libx264" and settings["options"]["preset"] == cfg.augment.preset
    assert table.loc[~table["is_augmented"], "encoder"].isna().all()  # originals are referenced, not encoded


def test_scale_records_what_it_wrote(tmp_path):
    ws = _workspace(tmp_path / "ws")
    run_augment(ws, FvcConfig(), per_video=1)
    table, _ = run_scale(ws, FvcConfig(), size=64, method="letterbox")
    assert len(table) == 4
    _assert_recorded_as_probed(ws, table)
    settings = json.loads(table["encoder"].iloc[0])
    assert settings["options"]["crf"] == str(FvcConfig().scale.crf)
