"""Rendering one augmented video: deterministic, exact temporal ops, upright output."""

from __future__ import annotations

import av
import numpy as np

from fvc.augment.params import only, sample_params
from fvc.augment.render import EncodeSettings, chunk_size, render_augmented
from fvc.augment.temporal import expected_length
from fvc.video.io import iter_frames

LOSSLESS = EncodeSettings(codec="libx264rgb", pix_fmt="rgb24", options={"qp": "0", "preset": "ultrafast"})


def decoded(path):
    return [f for _, f in iter_frames(path)]


def test_same_seed_identical_frames(make_video, tmp_path):
    src = make_video(frames=12)
    params = sample_params("v", 1, 42, op_probability=1.0)
    a = render_augmented(src, tmp_path / "a.mp4", params, EncodeSettings(), chunk_frames=5)
    b = render_augmented(src, tmp_path / "b.mp4", params, EncodeSettings(), chunk_frames=5)
    fa, fb = decoded(tmp_path / "a.mp4"), decoded(tmp_path / "b.mp4")
    assert a == b and len(fa) == a["frames_out"]
    assert all(np.array_equal(x, y) for x, y in zip(fa, fb))
    other = render_augmented(src, tmp_path / "c.mp4", sample_params("v", 2, 42, 1.0), EncodeSettings())
    assert not all(np.array_equal(x, y) for x, y in zip(fa, decoded(tmp_path / "c.mp4")))
    assert other["frames_in"] == 12


def test_reverse_render_is_exact(make_video, tmp_path):
    src = make_video(frames=20)
    info = render_augmented(src, tmp_path / "r.mp4", only("reverse"), LOSSLESS, chunk_frames=6)
    assert info["frames_out"] == 20
    orig = decoded(src)
    assert all(np.array_equal(x, y) for x, y in zip(decoded(tmp_path / "r.mp4"), orig[::-1]))


def test_dropping_count_and_source_fps(make_video, tmp_path):
    src = make_video(frames=20, fps=15)
    info = render_augmented(src, tmp_path / "d.mp4", only("drop", rate=0.25), LOSSLESS)
    assert info["frames_out"] == expected_length(20, drop=0.25) == 15
    out = decoded(tmp_path / "d.mp4")
    assert len(out) == 15
    orig = decoded(src)
    kept = [i for i in range(20) if (i + 1) % 4]  # every 4th frame dropped at rate 0.25
    assert all(np.array_equal(out[j], orig[i]) for j, i in enumerate(kept))
    with av.open(str(tmp_path / "d.mp4")) as c:
        assert c.streams.video[0].average_rate == 15
        assert not c.streams.audio


def test_rotation_metadata_gives_upright_output(tmp_path):
    path = tmp_path / "rot.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264rgb", rate=10)
        s.width, s.height, s.pix_fmt = 64, 48, "rgb24"
        s.options = {"qp": "0"}
        s.set_display_rotation(90)
        img = np.zeros((48, 64, 3), np.uint8)
        img[:8, :8] = 255  # marker top-left as stored
        for _ in range(3):
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    info = render_augmented(path, tmp_path / "o.mp4", only("blur", sigma=0.5), LOSSLESS)
    assert (info["width"], info["height"]) == (48, 64)
    out = decoded(tmp_path / "o.mp4")[0]
    assert out.shape == (64, 48, 3)
    assert out[-4:, :4].mean() > 200 and out[:4, :4].mean() < 50  # 90 deg counter-clockwise: now bottom-left


def test_odd_source_size_is_cropped_even(make_video, tmp_path):
    path = tmp_path / "odd.mp4"
    from fvc.video.encode import Encoder

    with Encoder(path, 10, 65, 47, codec="libx264rgb", pix_fmt="rgb24", options={"qp": "0"}) as w:
        for _ in range(3):
            w.write(np.full((47, 65, 3), 100, np.uint8))
    info = render_augmented(path, tmp_path / "o.mp4", only("hflip"), EncodeSettings())
    assert (info["width"], info["height"]) == (64, 46)


def test_chunk_size_bounded_by_frames_and_memory():
    assert chunk_size(64, 48, 250, 256) == 250
    assert chunk_size(1920, 1080, 250, 64) == (64 * 1024 * 1024) // (1920 * 1080 * 3 // 2) == 21
    assert chunk_size(1920, 1080, 250, 64, bytes_per_pixel=3) == 10
    assert chunk_size(8000, 8000, 250, 1) == 1
