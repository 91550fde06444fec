import numpy as np
import pandas as pd
import pytest

from fvc.config import FvcConfig
from fvc.data.index import build_index
from fvc.features import blocking, codec, dct, noise, sharpness, temporal
from fvc.features.columns import feature_columns
from fvc.features.extract import feature_names, video_features
from fvc.features.stage import run_features
from fvc.video.encode import Encoder
from fvc.workspace import Workspace


def _texture(rng, h=48, w=64):
    base = rng.integers(0, 255, (h // 4, w // 4, 1), np.uint8)
    img = np.kron(base, np.ones((4, 4, 1), np.uint8)).repeat(3, axis=2)
    return img


def _write(path, rng, n=12, noisy=True, w=64, h=48):
    with Encoder(path, 25, w, h) as vw:
        img = _texture(rng, h, w)
        for i in range(n):
            frame = np.roll(img, i, axis=1)
            if noisy:
                frame = np.clip(frame.astype(int) + rng.normal(0, 12, frame.shape), 0, 255).astype(np.uint8)
            vw.write(frame)
    return path


def test_dct_matches_opencv_block_dct():
    import cv2

    rng = np.random.default_rng(0)
    g = rng.integers(0, 255, (16, 24), np.uint8)
    ours = dct.block_dct(g)
    ref = cv2.dct(g[:8, 8:16].astype(np.float32) - 128.0)
    np.testing.assert_allclose(ours[1], ref, atol=1e-3)  # block (0, 1)


def test_noise_and_sharpness_respond_to_noise_and_blur():
    import cv2

    rng = np.random.default_rng(1)
    clean = cv2.GaussianBlur(_texture(rng, 64, 64)[..., 0], (0, 0), 2.0)
    noisy = np.clip(clean + rng.normal(0, 15, clean.shape), 0, 255).astype(np.uint8)
    assert noise.frame_noise(noisy)[0] > 5 * noise.frame_noise(clean)[0]
    sharp = _texture(rng, 64, 64)[..., 0]
    blurred = cv2.GaussianBlur(sharp, (0, 0), 3.0)
    assert sharpness.frame_sharpness(sharp)[0] > sharpness.frame_sharpness(blurred)[0]


def test_blocking_detects_grid_aligned_steps():
    flat = np.full((64, 64), 100, np.uint8)
    blocky = flat.copy()
    for j in range(0, 64, 8):
        blocky[:, j:j + 8] += np.uint8((j // 8) % 2 * 20)
    shifted = np.roll(blocky, 3, axis=1)
    rng = np.random.default_rng(2)
    noise_ = rng.integers(0, 3, (64, 64)).astype(np.uint8)
    assert blocking.frame_blocking(blocky + noise_)[0] > 2.0
    assert blocking.frame_blocking(shifted + noise_)[0] < 1.0


def test_temporal_zero_for_identical_frames():
    g = temporal.small_grey(np.full((300, 400), 77, np.uint8))
    assert g.shape == (100, 133) and (g == 77.0).all()  # 3x3 block means: the long side just over SMALL_SIDE
    assert temporal.pair_temporal(g, g)[0] == 0.0
    assert temporal.pair_temporal(g, g + 50)[2] == 1.0


def test_codec_features_from_probe():
    f = codec.codec_features({"width": 100, "height": 50, "fps": 25, "video_bit_rate": 125000, "codec": "h264",
                              "profile": "Constrained Baseline", "keyframe_interval": 50, "has_b_frames": True})
    assert f["codec_bpp"] == pytest.approx(1.0)
    assert f["codec_keyframe_interval_s"] == pytest.approx(2.0)
    assert f["codec_is_h264"] == 1.0 and f["codec_is_other"] == 0.0
    assert f["codec_profile_baseline"] == 1.0 and f["codec_has_b_frames"] == 1.0
    assert set(f) == set(codec.NAMES)


def test_video_features_named_and_finite(tmp_path):

    p = _write(tmp_path / "a.mp4", np.random.default_rng(3))
    f = video_features(p, FvcConfig().features)
    assert set(feature_names()) <= set(f)
    assert f["n_frames_sampled"] == 5  # 12 frames: 10% = 1, clamped to min 5
    assert all(np.isfinite(f[c]) for c in feature_names() if not c.startswith("codec_duration"))


def _workspace(tmp_path, n=4):
    ws = Workspace(tmp_path / "ws").ensure()
    rng = np.random.default_rng(4)
    rows = []
    for i in range(n):
        _write(ws.root / "raw" / f"v{i}.mp4", rng, noisy=i % 2 == 0)
        rows.append({"video_id": f"v{i}", "path": f"raw/v{i}.mp4", "cascade_id": f"c{i}", "label": i % 2})
    # one truncated file that fails mid-decode
    good = (ws.root / "raw" / "v0.mp4").read_bytes()
    (ws.root / "raw" / "bad.mp4").write_bytes(good[: len(good) // 3])
    rows.append({"video_id": "bad", "path": "raw/bad.mp4", "cascade_id": "c9", "label": 1})
    videos = pd.DataFrame(rows)
    videos["label"] = videos["label"].astype("Int64")
    ws.write("index", build_index(videos, ws.root, workers=1))
    ws.write("splits", pd.DataFrame({"video_id": videos["video_id"], "cascade_id": videos["cascade_id"],
                                     "group_id": videos["cascade_id"], "label": videos["label"],
                                     "fold": [i % 2 for i in range(len(videos))]}))
    return ws


def test_stage2_table_resume_and_error_rows(tmp_path):
    ws = _workspace(tmp_path)
    cfg = FvcConfig()
    s1 = run_features(ws, cfg, stage=2)
    t = ws.read("features_stage2")
    assert len(t) == 5 and list(t.columns[:3]) == ["video_id", "source_video_id", "label"]
    assert "fold" not in t.columns  # training joins folds from splits: a copy here could go stale
    bad = t.set_index("video_id").loc["bad"]
    assert isinstance(bad["error"], str) and "bad.mp4" in bad["error"]
    assert np.isnan(bad["noise_median_energy_mean"]) and bad["label"] == 1
    ok = t[t["error"].isna()]
    assert len(ok) == 4 and ok[feature_columns(t.columns)].drop(columns=["codec_duration"]).notna().all().all()
    assert s1.done + s1.failed == 5
    s2 = run_features(ws, cfg, stage=2, retry_failed=False)
    assert (s2.skipped, s2.failed, s2.done) == (4, 1, 0)
    cfg.features.max_frames = 6
    assert run_features(ws, cfg, stage=2).skipped == 0


def test_stage4_requires_scaled_and_adds_flags(tmp_path):
    from fvc.errors import InputError

    ws = _workspace(tmp_path, n=2)
    with pytest.raises(InputError, match="fvc scale"):
        run_features(ws, FvcConfig(), stage=4)
    ws.write("scaled", pd.DataFrame({"video_id": ["v0_s"], "source_video_id": ["v0"], "path": ["raw/v0.mp4"],
                                     "is_upscaled": [True], "is_downscaled": [False], "fold": [0], "label": [0],
                                     "error": [None]}))
    run_features(ws, FvcConfig(), stage=4)
    t = ws.read("features_stage4")
    assert t.loc[0, "is_upscaled"] == 1.0 and t.loc[0, "is_downscaled"] == 0.0
    assert t.loc[0, "codec_is_h264"] == 1.0  # probed from the derived file itself


def test_duplicated_frames_show_in_temporal_dup_fraction(tmp_path):

    rng = np.random.default_rng(5)
    img = _texture(rng, 48, 64)
    dup, smooth = tmp_path / "dup.mp4", tmp_path / "smooth.mp4"
    with Encoder(dup, 25, 64, 48) as a, Encoder(smooth, 25, 64, 48) as b:
        for i in range(40):
            a.write(np.roll(img, 3 * (i // 2), axis=1))  # every frame shown twice (frame-rate conforming)
            b.write(np.roll(img, 3 * i, axis=1))
    fcfg = FvcConfig().features
    fd = video_features(dup, fcfg)
    fs = video_features(smooth, fcfg)
    assert fd["temporal_dup_frac"] >= 0.3 and fs["temporal_dup_frac"] == 0.0
