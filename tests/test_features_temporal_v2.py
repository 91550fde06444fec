"""Temporal discontinuity, motion vectors and GOP-aware DQ: exact statistics on known inputs, and videos with
planted edits (a dropped stretch, a speed change) move them."""

from __future__ import annotations

import numpy as np
import pytest

from fvc.config import FeaturesConfig
from fvc.features import discontinuity, gop, motion
from fvc.features.extract import video_features
from fvc.video.encode import Encoder
from tests.test_features_respond import W, H, pan, scene, write


def test_discontinuity_known_values():
    d = np.full(100, 5.0)
    keys = np.zeros(100, bool)
    d[40] = 50.0  # one cut, off a keyframe
    f = discontinuity.discontinuity_features(d, keys)
    assert f["tdisc_spike_rate"] == pytest.approx(1.0) and f["tdisc_offkey_spike_rate"] == pytest.approx(1.0)
    assert f["tdisc_spike_max"] == pytest.approx(np.log(50.5 / 5.5))
    assert f["tdisc_dup_run"] == 0.0 and f["tdisc_level_step"] == pytest.approx(0.0)
    keys[40] = True  # the encoder saw the same cut: a keyframe there
    assert discontinuity.discontinuity_features(d, keys)["tdisc_offkey_spike_rate"] == 0.0
    frozen = d.copy()
    frozen[60:72] = 0.0  # twelve repeated frames
    assert discontinuity.discontinuity_features(frozen, keys)["tdisc_dup_run"] == pytest.approx(0.12)
    ramp = np.r_[np.full(50, 2.0), np.full(50, 8.0)]  # playback four times faster from the middle
    assert discontinuity.discontinuity_features(ramp, keys)["tdisc_level_step"] == pytest.approx(np.log(8.5 / 2.5))
    assert np.isnan(discontinuity.discontinuity_features(d[:5], keys[:5])["tdisc_spike_max"])


def test_pace_known_values():
    slow = np.tile([4.0, 0.2], 20)  # half speed by repetition: every other frame repeats the last
    f = discontinuity.pace_features(slow)
    assert f["tdisc_still_share"] == 0.5 and f["tdisc_alternation"] == 1.0
    assert f["tdisc_autocorr"] == pytest.approx(-1.0)
    assert f["tdisc_low_ratio"] == pytest.approx(0.7 / 2.6) and f["tdisc_rel_change"] == pytest.approx(3.8 / 2.6)
    smooth = np.linspace(1.0, 5.0, 40)  # a steady acceleration: no turn, neighbours alike
    f = discontinuity.pace_features(smooth)
    assert f["tdisc_still_share"] == 0.0 and f["tdisc_alternation"] == 0.0 and f["tdisc_autocorr"] > 0.9
    assert f["tdisc_rel_change"] == pytest.approx((4.0 / 39) / 3.5)
    assert f["tdisc_low_ratio"] == pytest.approx((np.percentile(smooth, 10) + 0.5) / 3.5)
    assert set(f) <= set(discontinuity.NAMES)


def test_constant_speed_changes_move_the_pace_features(tmp_path):
    src = [scene("coins", W + 200, H)[:, i: i + W] for i in range(0, 200, 2)]
    steady = video_features(write(tmp_path / "steady.mp4", src[:40]), FeaturesConfig())
    slow = video_features(write(tmp_path / "slow.mp4", [src[i // 2] for i in range(40)]), FeaturesConfig())
    fast = video_features(write(tmp_path / "fast.mp4", src[:120:3]), FeaturesConfig())
    assert slow["tdisc_still_share"] > steady["tdisc_still_share"] + 0.3
    assert slow["tdisc_alternation"] > steady["tdisc_alternation"] + 0.3
    assert fast["tdisc_still_share"] <= steady["tdisc_still_share"]


def test_dropped_stretch_and_speed_change_move_the_discontinuity_features(tmp_path):
    long_pan = [scene("camera", W + 200, H)[:, i: i + W] for i in range(0, 120, 2)]
    smooth = video_features(write(tmp_path / "smooth.mp4", long_pan[:40]), FeaturesConfig())
    dropped = video_features(write(tmp_path / "dropped.mp4", long_pan[:20] + long_pan[40:60]), FeaturesConfig())
    assert dropped["tdisc_spike_max"] > smooth["tdisc_spike_max"] + 0.5
    assert dropped["tdisc_spike_rate"] > smooth["tdisc_spike_rate"]
    src = [scene("coins", W + 200, H)[:, i: i + W] for i in range(200)]
    speed = video_features(write(tmp_path / "speed.mp4", src[:20] + src[20:140:6]), FeaturesConfig())
    steady = video_features(write(tmp_path / "steady.mp4", src[:40]), FeaturesConfig())
    assert speed["tdisc_level_step"] > steady["tdisc_level_step"] + 0.5


def _mv(vx, vy, x, y, w=16, h=16):
    a = np.zeros(len(vx), dtype=[("source", "i4"), ("w", "u1"), ("h", "u1"), ("src_x", "i2"), ("src_y", "i2"),
                                 ("dst_x", "i2"), ("dst_y", "i2"), ("flags", "u8"), ("motion_x", "i4"),
                                 ("motion_y", "i4"), ("motion_scale", "u2")])
    a["source"], a["w"], a["h"], a["motion_scale"] = -1, w, h, 4
    a["motion_x"], a["motion_y"] = np.asarray(vx) * 4, np.asarray(vy) * 4
    a["dst_x"], a["dst_y"] = np.asarray(x) + 8, np.asarray(y) + 8
    return a


def test_frame_motion_known_values():
    ys, xs = np.mgrid[0:64:16, 0:64:16]
    xs, ys = xs.ravel(), ys.ravel()
    pan_ = motion.frame_motion(_mv(np.full(16, 2), np.zeros(16), xs, ys), 64, 64)
    f = dict(zip(motion.NAMES, pan_))
    assert f["mv_mag"] == pytest.approx(2.0) and f["mv_dispersion"] == 0.0 and f["mv_outlier_area"] == 0.0
    assert f["mv_roughness"] == 0.0 and f["mv_coverage"] == pytest.approx(1.0)
    vx = np.full(16, 2.0)
    vx[[0, 1, 4, 5]] = 12.0  # a 32x32 object moving against the camera pan
    g = dict(zip(motion.NAMES, motion.frame_motion(_mv(vx, np.zeros(16), xs, ys), 64, 64)))
    assert g["mv_outlier_area"] == pytest.approx(4 / 16)
    # 4 of the 24 neighbour pairs differ by 10 px, over the mean magnitude (0.25 * 12 + 0.75 * 2) + 1
    assert g["mv_roughness"] == pytest.approx(4 * 10 / 24 / 5.5) and g["mv_dispersion"] == 0.0
    assert dict(zip(motion.NAMES, motion.frame_motion(_mv(vx[:8], np.zeros(8), xs[:8], ys[:8]), 64, 64)))[
        "mv_coverage"] == pytest.approx(0.5)


def test_motion_vectors_from_an_h264_video_and_none_from_vp9(tmp_path):
    frames = pan("brick", 20)
    f = video_features(write(tmp_path / "pan.mp4", frames), FeaturesConfig())
    # the pan moves 2 px per frame; B-frames may look two or three frames back
    assert f["mv_available"] == 1.0 and 1.5 < f["mv_mag_mean"] < 6.5 and f["mv_dispersion_mean"] < 1.0
    vp9 = tmp_path / "pan.webm"
    with Encoder(vp9, 15, W, H, codec="libvpx-vp9") as vw:
        for g in frames:
            vw.write(np.repeat(g[..., None], 3, axis=2))
    v = video_features(vp9, FeaturesConfig())
    assert v["mv_available"] == 0.0 and np.isnan(v["mv_mag_mean"])


def test_gop_features_known_values():
    row = lambda dq, zero: np.array([0, 0, 0, 0, dq, zero], float)  # noqa: E731  (frame_dct layout)
    f = gop.gop_features([row(0.3, 0.5), row(0.5, 0.7)], [row(0.1, 0.9)])
    assert f["gop_dq_intra"] == pytest.approx(0.4) and f["gop_dq_inter"] == pytest.approx(0.1)
    assert f["gop_dq_ratio"] == pytest.approx(0.41 / 0.11) and f["gop_zero_ratio"] == pytest.approx(0.61 / 0.91)
    assert np.isnan(gop.gop_features([], [row(0.1, 0.9)])["gop_dq_intra"])


def test_reading_motion_vectors_leaves_no_decoded_frame_alive(tmp_path):
    """PyAV's side data holds its frame in a reference cycle: frames must not pile up until a full collection."""
    import gc

    import av

    gc.collect()
    gc.disable()  # only the collections the extractor runs itself
    try:
        video_features(write(tmp_path / "pan.mp4", pan("brick", 20)), FeaturesConfig(sample_fraction=1.0))
        alive = [o for o in gc.get_objects() if isinstance(o, av.VideoFrame)]
    finally:
        gc.enable()
    assert alive == []


def _frame_motion_reference(mv, width, height):
    """The motion statistics of one frame, written out with numpy's own medians and means."""
    vx = mv["motion_x"] / np.maximum(mv["motion_scale"], 1)
    vy = mv["motion_y"] / np.maximum(mv["motion_scale"], 1)
    area = mv["w"].astype(np.float64) * mv["h"]
    mag = np.hypot(vx, vy)
    mean_mag = float((mag * area).sum() / area.sum())
    dev = np.hypot(vx - np.median(vx), vy - np.median(vy))
    disp = float(np.median(dev))
    outlier = float(area[dev > max(2.0, 3.0 * disp)].sum() / area.sum())
    gh, gw = height // motion.GRID + 1, width // motion.GRID + 1
    gx, gy = np.full((gh, gw), np.nan), np.full((gh, gw), np.nan)
    for x, y, u, v in zip(mv["dst_x"] // motion.GRID, mv["dst_y"] // motion.GRID, vx, vy):
        gx[min(y, gh - 1), min(x, gw - 1)], gy[min(y, gh - 1), min(x, gw - 1)] = u, v
    steps = np.concatenate([np.hypot(np.diff(gx, axis=1), np.diff(gy, axis=1)).ravel(),
                            np.hypot(np.diff(gx, axis=0), np.diff(gy, axis=0)).ravel()])
    steps = steps[~np.isnan(steps)]
    rough = steps.mean() / (mean_mag + 1.0) if steps.size else np.nan
    return [mean_mag, disp, outlier, rough, min(1.0, area.sum() / (width * height))]


def test_frame_motion_matches_its_definition():
    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 16, 31):  # odd and even counts: the median of an even count is the mean of the middle two
        ys, xs = rng.integers(0, 64, n), rng.integers(0, 96, n)
        mv = _mv(rng.integers(-40, 40, n) / 4, rng.integers(-40, 40, n) / 4, xs, ys)
        np.testing.assert_allclose(motion.frame_motion(mv, 96, 64), _frame_motion_reference(mv, 96, 64), rtol=1e-9)
    # outlying: farther than max(2, 3 x the dispersion) from the dominant motion. Here the median vector is 0 and
    # the dispersion 1, so 2.5 is not outlying and 3.5 is (1 of 15 equal areas); with no spread the 2-pixel floor
    # decides, and a vector exactly 2 pixels off is not outlying
    vx = np.array([-1.0, 1.0] * 6 + [0.0, 2.5, -3.5])
    got = dict(zip(motion.NAMES, motion.frame_motion(_mv(vx, np.zeros(15), np.arange(15) * 6, np.zeros(15)), 96, 64)))
    assert (got["mv_dispersion"], got["mv_outlier_area"]) == (1.0, pytest.approx(1 / 15))
    vx = np.array([0.0] * 10 + [2.0, 2.5, 1.5, 6.0])
    got = dict(zip(motion.NAMES, motion.frame_motion(_mv(vx, np.zeros(14), np.arange(14) * 6, np.zeros(14)), 96, 64)))
    assert (got["mv_dispersion"], got["mv_outlier_area"]) == (0.0, pytest.approx(2 / 14))


def test_difference_series_of_consecutive_frames_and_of_stretches():
    rng = np.random.default_rng(5)
    frames = [(i, rng.integers(0, 256, (36, 64), dtype=np.uint8), i % 12 == 0) for i in range(60) if i not in (20, 21, 33)]
    frames += [(i, rng.integers(0, 256, (32, 64), dtype=np.uint8), False) for i in range(60, 75)]  # a size change
    want = [float(np.abs(b.astype(int) - a).mean()) for (i, a, _), (j, b, _) in zip(frames, frames[1:])
            if j == i + 1 and a.shape == b.shape]
    series = discontinuity.DiffSeries()
    for i, thumb, key in frames:
        series.add(i, thumb, key)
    assert series.diffs.tolist() == want  # exact: integer sums
    keys = [k for (i, a, _), (j, b, k) in zip(frames, frames[1:]) if j == i + 1 and a.shape == b.shape]
    assert series.features() == discontinuity.discontinuity_features(np.array(want), np.array(keys))
    # a stretch's differences: the pairs with both frames in [lo, hi), none across its edges (explain's windows)
    for lo, hi in ((0, 30), (30, 70), (19, 34), (5, 6)):
        inside = [(float(np.abs(b.astype(int) - a).mean()), k) for (i, a, _), (j, b, k) in zip(frames, frames[1:])
                  if j == i + 1 and a.shape == b.shape and lo <= i and j < hi]
        d, k = series.between(lo, hi)
        assert d.tolist() == [x for x, _ in inside] and k.tolist() == [y for _, y in inside], (lo, hi)
        np.testing.assert_equal(series.features(lo, hi), discontinuity.discontinuity_features(d, k))



def test_thumbnails_of_decoded_frames_are_the_luma_planes_samples(tmp_path):
    """The decoder's plane has rows longer than the frame is wide: a thumbnail holds the frame's own samples,
    every ``step``-th row and column from ``step // 2``, and the series their exact mean differences."""
    import av

    rng = np.random.default_rng(3)
    w, h = 200, 90
    path = tmp_path / "odd.mp4"
    with Encoder(path, 15, w, h, options={"crf": "18"}) as vw:
        g = rng.integers(0, 256, (h, w), dtype=np.uint8)
        for k in range(12):
            g = rng.integers(0, 256, (h, w), dtype=np.uint8) if k % 4 == 0 else np.roll(g, 3, axis=1)
            vw.write(np.repeat(g[..., None], 3, axis=2))
    series, reference, padded, prev = discontinuity.DiffSeries(), [], False, None
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            plane = frame.planes[0]
            padded |= plane.line_size > w
            luma = np.frombuffer(plane, np.uint8).reshape(h, plane.line_size)[:, :w]  # the samples, not the padding
            thumb = luma[1::3, 1::3]  # about 64 samples on the long side: every 3rd of 200
            np.testing.assert_array_equal(discontinuity.thumbnail(frame), thumb)
            series.add(i, discontinuity.thumbnail(frame), frame.key_frame)
            if prev is not None:
                reference.append(float(np.abs(thumb.astype(int) - prev).mean()))
            prev = thumb
    assert padded and len(reference) == 11
    assert series.diffs.tolist() == reference
