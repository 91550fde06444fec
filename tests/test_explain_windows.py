"""fvc explain windows: the whole-video families (tdisc_, mv_, gop_) are computed on each window's own frames,
and where a window cannot give one (no I-frame in it) the explanation says so and uses the whole video's value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_explain import _predictor
from test_features_respond import H, W, scene

from fvc.config import FeaturesConfig
from fvc.data.index import probe_video
from fvc.explain import explain_video, media
from fvc.explain.document import strip_frames, whole_video_fill
from fvc.explain.timeline import WHOLE_VIDEO, Segment, read_windows, window_features, windows
from fvc.features import discontinuity
from fvc.features.extract import feature_names, video_features
from fvc.video.encode import Encoder
from fvc.workspace import Workspace

FPS = 15


@pytest.fixture(scope="module")
def slowed(tmp_path_factory):
    """4 s at 15 fps, one keyframe (frame 0): a steady pan, then the same pan at half speed (each frame twice)."""
    path = tmp_path_factory.mktemp("win") / "slowed.mp4"
    src = scene("coins", W + 200, H)
    pan = [src[:, 2 * i: 2 * i + W] for i in range(60)]
    frames = pan[:30] + [pan[30 + i // 2] for i in range(30)]
    with Encoder(path, FPS, W, H, options={"crf": "12", "x264-params": "keyint=250:min-keyint=250:scenecut=0"}) as vw:
        for g in frames:
            vw.write(np.repeat(g[..., None], 3, axis=2))
    return path


@pytest.fixture(scope="module")
def short_gops(tmp_path_factory):
    """4 s at 15 fps with a keyframe every 4 frames: about half the GOPs hold no sampled frame (nor its successor)."""
    path = tmp_path_factory.mktemp("gops") / "short_gops.mp4"
    src = scene("coins", W + 200, H)
    with Encoder(path, FPS, W, H, options={"crf": "12", "x264-params": "keyint=4:min-keyint=4:scenecut=0"}) as vw:
        for i in range(60):
            vw.write(np.repeat(src[:, 2 * i: 2 * i + W][..., None], 3, axis=2))
    return path


def test_windows_read_the_frames_stage2_reads(short_gops):
    """With the card's sampling (seek), one window over the whole video decodes the GOPs stage 2 decodes, no more:
    even the temporal discontinuities, which see every decoded frame, are stage 2's (every frame would differ)."""
    seek = FeaturesConfig(sampling="seek")
    row = window_features(short_gops, probe_video(short_gops), seek, [Segment(0, 60, FPS)])[0]
    whole = video_features(short_gops, seek)
    every = video_features(short_gops, FeaturesConfig(sampling="sequential"))
    for name in feature_names():
        if name.startswith("gop_"):  # a window takes every decoded I-frame, stage 2 at most gop.MAX_INTRA of them
            continue
        assert row[name] == pytest.approx(whole[name], nan_ok=True, rel=1e-9, abs=1e-12), name
    assert np.isfinite(row["tdisc_autocorr"])
    assert any(not np.isclose(whole[n], every[n], equal_nan=True) for n in discontinuity.NAMES)


@pytest.mark.parametrize("clip,sampling", [("slowed", "auto"), ("short_gops", "seek")])
def test_the_keyframe_strip_comes_from_the_window_pass(clip, sampling, request):
    """The strip's frames, kept by the windows' own decode, are the frames a separate decode gives, pixel for pixel
    (also where the plan skips GOPs: frames 18 and 41 lie in GOPs of short_gops that no sample needs)."""
    path = request.getfixturevalue(clip)
    segments = windows(60, FPS)
    mids = sorted(strip_frames(segments, FPS, 60) + [18, 41])
    _, frames = read_windows(path, probe_video(path), FeaturesConfig(sampling=sampling), segments, grab=mids)
    separate = media.keyframes(path, mids)
    assert sorted(frames) == sorted(separate) == mids
    for m in mids:
        assert np.array_equal(frames[m], separate[m]), m


def test_one_window_over_the_whole_video_is_the_stage2_row(slowed):
    probe = probe_video(slowed)
    row = window_features(slowed, probe, FeaturesConfig(), [Segment(0, 60, FPS)])[0]
    whole = video_features(slowed, FeaturesConfig())
    for name in feature_names():
        assert row[name] == pytest.approx(whole[name], nan_ok=True, rel=1e-9, abs=1e-12), name
    assert row[WHOLE_VIDEO] == {}


def test_each_window_has_its_own_temporal_motion_and_gop_evidence(slowed):
    rows = window_features(slowed, probe_video(slowed), FeaturesConfig(), windows(60, FPS))
    assert len(rows) == 2
    steady, slow = rows
    # the slowed window repeats every other frame; the steady one does not
    assert slow["tdisc_still_share"] > steady["tdisc_still_share"] + 0.3
    assert slow["tdisc_alternation"] > steady["tdisc_alternation"] + 0.3
    for r in rows:  # motion vectors of each window's own frames (H.264 exports them)
        assert r["mv_available"] == 1.0 and np.isfinite(r["mv_mag_mean"])
    assert steady["mv_mag_mean"] > slow["mv_mag_mean"]  # half the pan per frame in the slowed window
    # the only I-frame is frame 0: the second window cannot give the GOP family, and says why
    assert np.isfinite(steady["gop_dq_intra"]) and np.isnan(slow["gop_dq_intra"])
    assert steady[WHOLE_VIDEO] == {} and slow[WHOLE_VIDEO] == {"gop_": "no I-frame in the window"}


def test_a_family_a_window_lacks_is_filled_from_the_whole_video_and_said_once():
    rows = pd.DataFrame({"gop_dq_intra": [0.3, np.nan, np.nan], "gop_dq_ratio": [1.2, np.nan, np.nan],
                         "tdisc_spike_max": [0.1, 0.2, np.nan],
                         WHOLE_VIDEO: [{}, {"gop_": "no I-frame in the window"},
                                       {"gop_": "no I-frame in the window", "tdisc_": "3 consecutive frame pairs"}]})
    whole = {"gop_dq_intra": 0.7, "gop_dq_ratio": 2.0, "tdisc_spike_max": 0.5}
    notes, said = whole_video_fill(rows, whole, ["gop_dq_intra", "gop_dq_ratio", "tdisc_spike_max"])
    assert WHOLE_VIDEO not in rows.columns
    assert rows["gop_dq_intra"].tolist() == [0.3, 0.7, 0.7] and rows["gop_dq_ratio"].tolist() == [1.2, 2.0, 2.0]
    assert rows["tdisc_spike_max"].tolist() == [0.1, 0.2, 0.5]
    assert notes == [set(), {"gop"}, {"gop", "discontinuity"}]
    assert said == [{"family": "gop", "windows": [1, 2], "reasons": ["no I-frame in the window"],
                     "whole_video_available": True},
                    {"family": "discontinuity", "windows": [2], "reasons": ["3 consecutive frame pairs"],
                     "whole_video_available": True}]
    # a family the model does not use is neither filled nor mentioned
    rows = pd.DataFrame({"gop_dq_intra": [np.nan], WHOLE_VIDEO: [{"gop_": "no I-frame in the window"}]})
    assert whole_video_fill(rows, whole, ["noise_level_mean"]) == ([set()], [])


def test_explanation_names_the_windows_scored_with_whole_video_evidence(slowed, tmp_path):
    pred = _predictor(Workspace(tmp_path / "ws").ensure(), "5beta-lgbm", slowed)
    doc = explain_video(pred, slowed, tmp_path / "out")
    segs = doc["timeline"]["segments"]
    assert [s["whole_video_families"] for s in segs] == [[], ["gop"]]
    assert doc["timeline"]["whole_video_evidence"] == [
        {"family": "gop", "windows": [1], "reasons": ["no I-frame in the window"], "whole_video_available": True}]
