"""Temporal ops: dropping/duplication bounds, chunked reversal is exact."""

from __future__ import annotations

import math

import av
import numpy as np
import pytest

from fvc.augment.render import EncodeSettings
from fvc.augment.temporal import ChunkReverser, expected_length, hits, retime
from fvc.video.io import iter_frames

LOSSLESS = EncodeSettings(codec="libx264rgb", pix_fmt="rgb24", options={"qp": "0", "preset": "ultrafast"})
LOSSY = EncodeSettings()  # libx264 veryfast with B-frames: the real output settings


def frames(n=20, h=48, w=64):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def lossless_writer(path):
    return LOSSLESS.writer(path, 15, 64, 48)


@pytest.mark.parametrize("rate", [0.05, 0.1, 0.17, 0.25])
@pytest.mark.parametrize("n", [1, 7, 20, 101])
def test_frame_count_after_dropping_within_bounds(rate, n):
    out = list(retime(((i, i) for i in range(n)), drop=rate))
    assert len(out) == n - math.floor(n * rate) == expected_length(n, drop=rate)
    assert len(out) >= math.ceil(n * 0.75)
    assert out == sorted(out)  # order kept


def test_duplication_adds_adjacent_copies():
    out = list(retime(((i, i) for i in range(40)), duplicate=0.25))
    assert len(out) == 50 == expected_length(40, duplicate=0.25)
    assert sorted(set(out)) == list(range(40))
    for v in set(out):
        idx = [j for j, x in enumerate(out) if x == v]
        assert idx == list(range(idx[0], idx[0] + len(idx)))  # copies sit next to their frame


def test_hits_are_spread_evenly():
    marked = [i for i in range(100) if hits(i, 0.2)]
    assert len(marked) == 20
    assert set(np.diff(marked)) == {5}


def test_reversal_reversed_is_identity(tmp_path):
    src = frames()
    rev = ChunkReverser(lossless_writer, chunk_frames=7, tmp_dir=tmp_path)
    for f in src:
        rev.write(f)
        assert len(rev.buffer) < 7  # never more than one chunk in memory
    assert rev.starts == [0, 7]
    assert rev.finish(tmp_path / "rev.mp4") == 20
    once = [f for _, f in iter_frames(tmp_path / "rev.mp4")]
    assert len(once) == 20
    assert all(np.array_equal(a, b) for a, b in zip(once, src[::-1]))
    rev2 = ChunkReverser(lossless_writer, chunk_frames=6, tmp_dir=tmp_path)
    for f in once:
        rev2.write(f)
    rev2.finish(tmp_path / "back.mp4")
    back = [f for _, f in iter_frames(tmp_path / "back.mp4")]
    assert all(np.array_equal(a, b) for a, b in zip(back, src)) and len(back) == 20
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("reverse-")] == []  # temp segments removed


def test_reversal_with_b_frames_keeps_timestamps_and_frames(tmp_path):
    src = [np.full((48, 64, 3), 10 * i, np.uint8) for i in range(23)]  # frame i has brightness 10*i
    rev = ChunkReverser(lambda p: LOSSY.writer(p, 15, 64, 48), chunk_frames=5, tmp_dir=tmp_path)
    for f in src:
        rev.write(f)
    assert rev.finish(tmp_path / "rev.mp4") == 23
    with av.open(str(tmp_path / "rev.mp4")) as c:
        s = c.streams.video[0]
        pkts = [p for p in c.demux(s) if p.size]
        assert s.average_rate == 15
    dts = [p.dts for p in pkts]
    assert len(pkts) == 23 and all(b > a for a, b in zip(dts, dts[1:]))
    pts = sorted(p.pts for p in pkts)
    assert len(set(np.diff(pts))) == 1  # one frame step everywhere: no gap or overlap between chunks
    means = [float(f.mean()) for _, f in iter_frames(tmp_path / "rev.mp4")]
    assert np.allclose(means, [10 * i for i in range(22, -1, -1)], atol=3)
