import pandas as pd
import pytest

from fvc.data.index import build_index, probe_video
from fvc.errors import VideoError


def test_probe_reads_stream_facts(make_video):
    path = make_video("a.mp4", frames=15, width=64, height=48, fps=15)
    info = probe_video(path)
    assert info["codec"] == "h264"
    assert (info["width"], info["height"]) == (64, 48)
    assert info["frame_count"] == 15
    assert info["fps"] == pytest.approx(15.0)
    assert info["duration"] == pytest.approx(1.0, abs=0.1)
    assert info["keyframe_count"] >= 1
    assert info["has_audio"] is False
    assert info["video_bit_rate"] > 0
    assert len(info["sha256"]) == 64
    assert info["rotation"] == 0


def test_probe_counts_frames_in_webm(make_video):
    path = make_video("b.webm", frames=10, codec="libvpx-vp9")
    info = probe_video(path)
    assert info["codec"] == "vp9"
    assert info["frame_count"] == 10


def test_probe_reads_rotation(tmp_path):
    import av
    import numpy as np

    path = tmp_path / "rot.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.set_display_rotation(90)
        for _ in range(3):
            for p in s.encode(av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    assert probe_video(path)["rotation"] in (90, 270)


def test_zero_byte_and_text_files_are_clear_errors(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VideoError, match="empty.mp4: file is empty"):
        probe_video(empty)
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 20)
    with pytest.raises(VideoError, match="notes.mp4: not a readable video"):
        probe_video(text)


def test_build_index_keeps_going_after_bad_files(tmp_path, make_video):
    good = make_video("good.mp4", frames=8)
    truncated = make_video("trunc.mp4", frames=30, width=128, height=96)
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 3])
    text = tmp_path / "text.mp4"
    text.write_text("hello")
    videos = pd.DataFrame(
        {
            "video_id": ["good", "trunc", "text", "missing"],
            "path": [good.name, truncated.name, text.name, "nope.mp4"],
            "cascade_id": ["f0", "f1", "r0", "r1"],
            "label": pd.array([1, 1, 0, 0], dtype="Int64"),
        }
    )
    index = build_index(videos, tmp_path)
    assert len(index) == 4
    by_id = index.set_index("video_id")
    assert pd.isna(by_id.loc["good", "error"])
    assert by_id.loc["good", "frame_count"] == 8
    assert "text.mp4" in by_id.loc["text", "error"]
    assert "file not found" in by_id.loc["missing", "error"]
    # a truncated file either errors or reports fewer frames than were written
    assert pd.notna(by_id.loc["trunc", "error"]) or by_id.loc["trunc", "frame_count"] < 30
    assert index["label"].dtype == "Int64"


def test_a_bug_in_the_probe_stops_the_index_instead_of_becoming_an_error_row(tmp_path, make_video, monkeypatch):
    import fvc.data.index as index_module

    good = make_video("good.mp4", frames=8)
    videos = pd.DataFrame({"video_id": ["good"], "path": [good.name], "cascade_id": ["f0"],
                           "label": pd.array([1], dtype="Int64")})

    def broken(*_args, **_kw):
        raise TypeError("our own mistake")

    monkeypatch.setattr(index_module, "probe_video", broken)
    with pytest.raises(TypeError, match="our own mistake"):
        build_index(videos, tmp_path, workers=1)
