"""Temporal ops: dropping/duplication bounds, chunked reversal is exact."""

from __future__ import annotations

import math

import av
import numpy as np
import pytest

from fvc.augment.temporal import ChunkReverser, expected_length, hits, remux_concat, retime
from fvc.video.io import VideoWriter, iter_frames

LOSSLESS = {"codec": "libx264rgb", "pix_fmt": "rgb24", "options": {"qp": "0", "preset": "ultrafast"}}


def frames(n=20, h=48, w=64):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def lossless_writer(path):
    return VideoWriter(path, 15, 64, 48, **LOSSLESS)


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
    assert len(rev.segments) == 2
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


def test_remux_keeps_timestamps_monotonic_with_b_frames(tmp_path):
    src = frames(12)
    segs = []
    for k in range(3):
        p = tmp_path / f"s{k}.mp4"
        with VideoWriter(p, 15, 64, 48, options={"preset": "veryfast", "crf": "20"}) as w:
            for f in src[k * 4 : k * 4 + 4]:
                w.write(f)
        segs.append(p)
    remux_concat(segs, tmp_path / "all.mp4")
    with av.open(str(tmp_path / "all.mp4")) as c:
        dts = [p.dts for p in c.demux(video=0) if p.size]
    assert len(dts) == 12 and all(b > a for a, b in zip(dts, dts[1:]))
    assert sum(1 for _ in iter_frames(tmp_path / "all.mp4")) == 12
