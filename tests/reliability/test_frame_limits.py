"""Frame-size limit: videos with frames over video.max_side / video.max_pixels are refused from the header."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from fvc.config import FvcConfig, load_config
from fvc.data.index import run_index
from fvc.errors import VideoError
from fvc.video.io import FrameLimits, frame_limits, iter_frames, open_video, set_frame_limits
from fvc.workspace import Workspace


@pytest.fixture(autouse=True)
def restore_limits():
    previous = frame_limits()
    yield
    set_frame_limits(previous.max_side, previous.max_pixels)


def test_defaults_are_8k():
    assert FrameLimits() == FrameLimits(8192, 8192 * 4320)
    assert (FvcConfig().video.max_side, FvcConfig().video.max_pixels) == (8192, 8192 * 4320)


def test_longer_side_and_pixel_count_are_checked(make_video):
    path = make_video("v.mp4", frames=3, width=64, height=48)
    with pytest.raises(VideoError, match=r"v\.mp4: frame size 64x48 is over the limit \(longer side 63,"):
        with open_video(path, FrameLimits(max_side=63)):
            pass
    with pytest.raises(VideoError, match=r"frame size 64x48 is over the limit .* 3071 pixels"):
        with open_video(path, FrameLimits(max_pixels=64 * 48 - 1)):
            pass
    with open_video(path, FrameLimits(max_side=64, max_pixels=64 * 48)) as container:
        assert container.streams.video[0].codec_context.width == 64


def test_process_limits_stop_every_reader_before_a_frame(make_video):
    path = make_video("v.mp4", frames=3, width=64, height=48)
    set_frame_limits(32, 10**9)
    frames = []
    with pytest.raises(VideoError, match="over the limit"):
        for _, frame in iter_frames(path):
            frames.append(frame)
    assert frames == []
    set_frame_limits(64, 10**9)
    assert len(list(iter_frames(path))) == 3


def _workspace(tmp_path, make_video, max_side: int) -> Workspace:
    ws = Workspace(tmp_path / "ws").ensure()
    big = make_video("big.mp4", frames=3, width=64, height=48)
    small = make_video("small.mp4", frames=3, width=32, height=24, seed=1)
    ws.write("videos", pd.DataFrame({
        "video_id": ["big", "small"], "path": [str(big), str(small)], "cascade_id": ["f0", "r0"],
        "label_raw": ["fake", "real"], "label": pd.array([1, 0], dtype="Int64"), "platform": ["other"] * 2,
    }))
    ws.config_path.write_text(yaml.safe_dump({"video": {"max_side": max_side}}))
    return ws


def test_index_turns_a_video_over_the_configured_limit_into_an_error_row(tmp_path, make_video):
    ws = _workspace(tmp_path, make_video, max_side=48)
    index, summary = run_index(ws, load_config(ws), plots=False)
    errors = dict(zip(index["video_id"], index["error"]))
    assert pd.isna(errors["small"])
    assert "big.mp4: frame size 64x48 is over the limit (longer side 48" in errors["big"]
    assert (summary.done, summary.failed) == (1, 1)


def test_cli_applies_the_workspace_limit_to_this_process(tmp_path, make_video, capsys, monkeypatch):
    from fvc.cli import main

    monkeypatch.setenv("COLUMNS", "300")
    ws = _workspace(tmp_path, make_video, max_side=48)
    with pytest.raises(SystemExit) as exc:
        main(["index", "-w", str(ws.root)])
    assert exc.value.code == 0
    assert "frame size 64x48 is over the limit" in capsys.readouterr().out
    assert frame_limits().max_side == 48  # what augment, features, scale and predict now open videos with
