"""The feature reader: one open per video, GOP plans, and 'seek' giving the very frames 'sequential' gives."""

from __future__ import annotations

import numpy as np
import pytest

from fvc.config import FeaturesConfig
from fvc.data.index import probe_video
from fvc.features.extract import Timings, video_features
from fvc.features.reader import open_read, plan_read, probe_stream
from fvc.video.encode import Encoder
from fvc.video.io import frame_to_gray, iter_frames
from fvc.video.packets import PacketTally


def _tally(n: int, gop: int) -> PacketTally:
    t = PacketTally()
    for i in range(n):
        t.pts.append(i)
        t.sizes.append(100)
        if i % gop == 0:
            t.keys.append(i)
    return t


def test_plan_decodes_only_the_gops_of_wanted_frames():
    t = _tally(100, 10)
    seek = plan_read(t, [5, 6, 45], "seek")
    assert seek.mode == "seek" and list(np.flatnonzero(seek.needed)) == [0, 4]
    seq = plan_read(t, [5, 6, 45], "sequential")
    assert list(np.flatnonzero(seq.needed)) == [0, 1, 2, 3, 4]
    assert plan_read(t, [5, 6, 45], "auto").mode == "seek"  # 3 of 5 GOPs skipped
    assert plan_read(t, [5, 15, 25, 35, 45], "auto").mode == "sequential"  # nothing to skip
    assert seek.keyframes(8) == [0, 40]
    with pytest.raises(ValueError, match="sampling mode"):
        plan_read(t, [1], "sometimes")


def test_open_gop_leading_frame_also_decodes_the_previous_gop():
    t = _tally(30, 10)
    t.pts = list(range(30))
    t.pts[10], t.pts[11] = 11, 10  # frame shown at 10 is decoded after the keyframe at decode position 10
    plan = plan_read(t, [10], "seek")
    assert list(np.flatnonzero(plan.needed)) == [0, 1]


def _video(path, n=90, gop=8):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (48, 80, 3), np.uint8)
    with Encoder(path, 25, 64, 48, options={"g": str(gop), "bf": "2"}) as vw:
        for i in range(n):
            vw.write(np.ascontiguousarray(np.roll(base, i, axis=1)[:, :64]))
    return path


def test_seek_gives_the_same_frames_as_sequential_and_decodes_fewer(tmp_path):
    p = _video(tmp_path / "v.mp4")
    wanted = [3, 4, 40, 41, 85, 86]
    ref = {i: g for i, g in iter_frames(p, wanted, fmt="gray")}
    with open_read(p) as r:
        plan = plan_read(r.tally, wanted, "seek")
        got, decoded = {}, 0
        for i, f in r.frames(plan):
            decoded += 1
            if i in ref:
                got[i] = frame_to_gray(f)
    assert plan.skipped > 0 and decoded < 60
    assert sorted(got) == wanted and all(np.array_equal(got[i], ref[i]) for i in wanted)


def test_codec_facts_match_the_index_probe(tmp_path):
    p = _video(tmp_path / "v.mp4")
    facts, _ = probe_stream(p)
    probe = probe_video(p)
    for k in ("frame_count", "keyframe_interval", "has_b_frames", "video_bit_rate", "fps", "width", "codec"):
        assert facts[k] == probe[k], k


def test_seek_and_sequential_features_agree_on_the_sampled_frames(tmp_path):
    p = _video(tmp_path / "v.mp4", n=200, gop=6)
    fc = dict(sample_fraction=0.03, min_frames=5, max_frames=6)
    t_seek, t_seq = Timings(), Timings()
    a = video_features(p, FeaturesConfig(**fc, sampling="seek"), t_seek)
    b = video_features(p, FeaturesConfig(**fc, sampling="sequential"), t_seq)
    assert t_seek.modes == ("seek",) and t_seq.modes == ("sequential",)
    assert t_seek.frames_decoded < t_seq.frames_decoded / 2
    for k in a:
        if k.startswith(("noise_", "dct_", "sharp_", "lnoise_", "ltex_", "temporal_mad", "codec_")):
            assert a[k] == pytest.approx(b[k], nan_ok=True), k


def test_missing_or_repeated_pts_read_sequentially():
    t = _tally(100, 10)
    t.pts[50] = t.pts[49]
    plan = plan_read(t, [5, 95], "seek")
    assert plan.mode == "sequential" and plan.pts_rank is None and plan.needed.all()
    t.pts[50] = None
    assert plan_read(t, [5, 45], "seek").mode == "sequential"


def test_features_are_the_same_when_two_threads_extract_at_once(tmp_path):
    """Frame-threaded decoding exports motion vectors racily: concurrent reads must still give the sequential row."""
    from concurrent.futures import ThreadPoolExecutor

    from _deep_fixtures import write_letterboxed

    video = write_letterboxed(tmp_path / "clip.mp4", fake=True, seed=1, frames=45, orig=(96, 54), size=96)
    cfg = FeaturesConfig(min_frames=5)
    ref = video_features(video, cfg)
    assert ref["mv_available"] == 1.0
    with ThreadPoolExecutor(2) as pool:
        rows = list(pool.map(lambda _: video_features(video, cfg), range(16)))
    for row in rows:
        differ = [k for k in ref if k.startswith("mv_") and row[k] != ref[k] and not (np.isnan(row[k]) and np.isnan(ref[k]))]
        assert not differ, differ


@pytest.mark.parametrize("batch_pixels", [64 * 48 * 3 + 1, 10**12])  # 4 frames a batch; the whole video at once
def test_frames_analysed_in_batches_give_the_features_of_one_at_a_time(tmp_path, monkeypatch, batch_pixels):
    from fvc.features import extract

    p = _video(tmp_path / "v.mp4", n=120, gop=8)  # keyframes among the samples: intra and inter DCT rows
    fc = FeaturesConfig(sample_fraction=0.25, sampling="sequential")
    monkeypatch.setattr(extract, "BATCH_PIXELS", 1)  # every frame analysed as soon as it is decoded
    alone = video_features(p, fc)
    monkeypatch.setattr(extract, "BATCH_PIXELS", batch_pixels)
    batched = video_features(p, fc)
    assert alone["n_frames_sampled"] == 30 and batched.keys() == alone.keys()
    differ = [k for k in alone if not (batched[k] == alone[k] or (np.isnan(alone[k]) and np.isnan(batched[k])))]
    assert differ == []


def test_feature_reads_run_blas_on_one_thread():
    from threadpoolctl import threadpool_info

    from fvc.features.extract import one_blas_thread

    with one_blas_thread():
        inside = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    assert inside and set(inside) == {1}


@pytest.mark.parametrize("caller", ["stage2", "windows"])
def test_frames_are_analysed_with_single_threaded_pools(tmp_path, monkeypatch, caller):
    """Both readers of a video (stage 2, explain's windows) analyse frames with BLAS and OpenCV on one thread."""
    import cv2
    from threadpoolctl import threadpool_info

    from fvc.explain.timeline import Segment, window_features
    from fvc.features import extract

    p = _video(tmp_path / "v.mp4", n=30)
    seen = []
    real = extract.frame_features

    def spy(grey, timings=None):
        seen.append(({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}, cv2.getNumThreads()))
        return real(grey, timings)

    monkeypatch.setattr(extract, "frame_features", spy)
    before = cv2.getNumThreads()
    cv2.setNumThreads(2)
    try:
        if caller == "stage2":
            video_features(p, FeaturesConfig())
        else:
            window_features(p, probe_video(p), FeaturesConfig(), [Segment(0, 30, 25.0)])
    finally:
        cv2.setNumThreads(before)
    assert seen and all(blas == {1} and ocv == 1 for blas, ocv in seen), seen
