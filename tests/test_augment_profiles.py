"""Augmentation profiles: the forensic_safe copies keep the traces stage-2 features measure,
the full profile overwrites them; the profile is recorded and each consumer reads its own copies."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from fvc.augment.params import OPS, SAFE_MAX_CRF, SAFE_OPS, profile_crf, sample_params
from fvc.augment.render import render_augmented
from fvc.augment.stage import encode_settings, feature_rows, run_augment
from fvc.config import AugmentConfig, FeaturesConfig, FvcConfig
from fvc.errors import InputError
from fvc.features.extract import video_features
from fvc.video.encode import Encoder

TRACES = ("noise_gauss_std_mean", "noise_median_energy_mean", "sharp_laplacian_var_mean", "temporal_dup_frac")


def _camera_video(path, frames: int = 16, w: int = 160, h: int = 120):
    """A panning texture with fresh sensor noise per frame, encoded at high quality."""
    rng = np.random.default_rng(3)
    tex = cv2.resize(rng.integers(0, 256, (h // 6, w // 6 + frames, 3), dtype=np.uint8), None, fx=6, fy=6,
                     interpolation=cv2.INTER_CUBIC).astype(np.float32)
    with Encoder(path, 25, w, h, options={"preset": "veryfast", "crf": "10"}) as enc:
        for i in range(frames):
            img = tex[:h, 4 * i: 4 * i + w] + rng.normal(0, 4, (h, w, 3))
            enc.write(np.clip(img, 0, 255).astype(np.uint8))
    return path


def _traces(path) -> np.ndarray:
    f = video_features(path, FeaturesConfig(sample_fraction=1.0, max_frames=50))
    return np.array([f[k] for k in TRACES])


def test_safe_params_use_only_safe_ops_at_small_strength():
    for k in range(1, 40):
        p = sample_params("v", k, 5, op_probability=1.0, profile="forensic_safe")
        on = {op for op, spec in p["ops"].items() if spec["on"]}
        assert on == set(SAFE_OPS) and p["profile"] == "forensic_safe"
        col = p["ops"]["color"]
        assert abs(col["brightness"]) <= 0.03 and abs(col["contrast"] - 1) <= 0.05 and abs(col["saturation"] - 1) <= 0.1
        q = sample_params("v", k, 5, op_probability=0.0, profile="forensic_safe")
        assert sum(spec["on"] for spec in q["ops"].values()) == 1
        assert {op for op, spec in q["ops"].items() if spec["on"]} <= set(SAFE_OPS)
    full = sample_params("v", 1, 5, op_probability=1.0)
    assert full["profile"] == "full" and all(full["ops"][op]["on"] for op in OPS)
    assert profile_crf("forensic_safe", 20) == SAFE_MAX_CRF and profile_crf("full", 20) == 20
    with pytest.raises(ValueError, match="unknown augmentation profile 'wild'"):
        sample_params("v", 1, 5, profile="wild")


def test_safe_copies_keep_the_traces_and_full_copies_do_not(tmp_path):
    src = _camera_video(tmp_path / "src.mp4")
    base = _traces(src)
    acfg = AugmentConfig()
    change = {}
    for profile in ("forensic_safe", "full"):
        rel = []
        for k in (1, 2):
            out = tmp_path / f"{profile}{k}.mp4"
            render_augmented(src, out, sample_params("src", k, 0, 1.0, profile), encode_settings(acfg, profile))
            rel.append(np.abs(_traces(out) - base) / (np.abs(base) + 1e-3))
        change[profile] = np.max(rel, axis=0)  # worst copy, per trace
    # safe copies: noise and sharpness within 15%, no duplicated frames appear
    assert change["forensic_safe"][:3].max() < 0.15, change
    assert change["forensic_safe"][3] == 0.0
    # full copies (noise, blur, resampling, duplication): the traces move far more
    assert change["full"][:3].max() > 3 * change["forensic_safe"][:3].max(), change


def test_stage_records_profiles_and_features_read_their_own(tmp_path):
    from test_augment_stage import make_workspace

    from fvc.features.stage import input_rows

    ws = make_workspace(tmp_path / "ws", n=2)
    cfg = FvcConfig()
    cfg.augment.profile, cfg.augment.deep_profile = "forensic_safe", "full"
    table, _ = run_augment(ws, cfg, per_video=1)
    assert sorted(table["video_id"]) == ["v0", "v0__aug01", "v0__safe01", "v1", "v1__aug01", "v1__safe01"]
    profiles = dict(zip(table["video_id"], table["aug_profile"]))
    assert profiles["v0"] == "original" and profiles["v0__safe01"] == "forensic_safe"
    assert json.loads(table.set_index("video_id").loc["v0__aug01", "params"])["profile"] == "full"
    rows, source = input_rows(ws, 2, cfg)
    assert source == "augmented" and sorted(rows["video_id"]) == ["v0", "v0__safe01", "v1", "v1__safe01"]
    cfg.augment.profile = "none"
    assert sorted(feature_rows(table, cfg.augment)["video_id"]) == ["v0", "v1"]
    # the profile is part of the stage's config: changing it redoes the work
    cfg.augment.profile = "full"
    _, summary = run_augment(ws, cfg, per_video=1)
    assert summary.skipped == 0 and summary.done == 2


def test_unknown_profile_is_one_line_input_error(tmp_path):
    from fvc.config import load_config
    from fvc.workspace import Workspace

    ws = Workspace(tmp_path / "ws").ensure()
    ws.config_path.write_text("augment:\n  deep_profile: heavy\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"fvc.yaml.*invalid config at 'augment.deep_profile'"):
        load_config(ws)
