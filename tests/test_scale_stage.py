"""Stage 3 over a tiny workspace: from augmented or from index+splits, letterbox and VAE."""

from __future__ import annotations

from test_augment_stage import make_workspace

from fvc.augment.stage import run_augment
from fvc.config import FvcConfig
from fvc.scale.stage import COLUMNS, run_scale
from fvc.video.io import iter_frames


def test_scale_from_index_when_no_augmented(tmp_path):
    ws = make_workspace(tmp_path / "ws", n=2, size=(96, 64))
    table, summary = run_scale(ws, FvcConfig(), size=64, method="letterbox")
    assert list(table.columns[: len(COLUMNS)]) == COLUMNS
    assert (summary.done, summary.failed) == (2, 0)
    assert table["video_id"].tolist() == ["v0", "v1"]
    r = table.iloc[0]
    assert (r["width"], r["height"], r["orig_width"], r["orig_height"]) == (64, 64, 96, 64)
    assert r["is_downscaled"] and not r["is_upscaled"] and r["method"] == "letterbox"
    frames = [f for _, f in iter_frames(ws.root / r["path"])]
    assert len(frames) == r["n_frames"] == 12 and frames[0].shape == (64, 64, 3)


def test_scale_augmented_keeps_groups_and_resumes(tmp_path):
    ws = make_workspace(tmp_path / "ws", n=2)
    aug, _ = run_augment(ws, FvcConfig(), per_video=1)
    table, s1 = run_scale(ws, FvcConfig(), size=128)
    assert s1.done == 4 and sorted(table["video_id"]) == sorted(aug["video_id"])
    merged = table.merge(aug, on="video_id", suffixes=("", "_aug"))
    assert "fold" not in table.columns
    for col in ("source_video_id", "cascade_id", "group_id", "label"):
        assert (merged[col] == merged[f"{col}_aug"]).all()
    assert table["is_upscaled"].all()
    _, s2 = run_scale(ws, FvcConfig(), size=128)
    assert (s2.done, s2.skipped) == (0, 4)
    _, s3 = run_scale(ws, FvcConfig(), size=64)  # other settings: redone
    assert s3.done == 4


def test_scale_autoencoder_tiny(tmp_path):
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    AutoencoderKL(block_out_channels=(8,), layers_per_block=1, latent_channels=4, norm_num_groups=8,
                  down_block_types=("DownEncoderBlock2D",), up_block_types=("UpDecoderBlock2D",)).save_pretrained(tmp_path / "vae")
    ws = make_workspace(tmp_path / "ws", n=1, frames=5)
    cfg = FvcConfig()
    cfg.scale.vae_batch = 2
    table, summary = run_scale(ws, cfg, size=32, method="autoencoder", vae=str(tmp_path / "vae"))
    assert summary.done == 1 and table["error"].isna().all()
    assert table.iloc[0]["method"] == "autoencoder" and table.iloc[0]["n_frames"] == 5
    assert len([f for _, f in iter_frames(ws.root / table.iloc[0]["path"])]) == 5
