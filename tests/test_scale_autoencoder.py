"""Autoencoder scaling: a tiny random AutoencoderKL saved locally; clear errors without weights."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fvc.errors import MissingDependencyError
from fvc.scale.autoencoder import VaeRoundTrip, is_hub_id, load_vae

FVC = str(Path(sys.executable).with_name("fvc"))


@pytest.fixture(scope="module")
def tiny_vae_dir(tmp_path_factory):
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, block_out_channels=(8, 8), layers_per_block=1, latent_channels=4,
        norm_num_groups=8, down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
    )
    path = tmp_path_factory.mktemp("vae") / "tiny-vae"
    vae.save_pretrained(path)
    return path


def test_round_trip_shapes_and_determinism(tiny_vae_dir, tmp_path):
    rt = VaeRoundTrip(load_vae(str(tiny_vae_dir), tmp_path))
    assert rt.factor == 2
    frames = [np.random.default_rng(i).integers(0, 255, (32, 32, 3), dtype=np.uint8) for i in range(3)]
    out = rt(frames)
    assert len(out) == 3 and out[0].shape == (32, 32, 3) and out[0].dtype == np.uint8
    assert all(np.array_equal(a, b) for a, b in zip(out, rt(frames)))


def test_pipeline_folder_with_vae_subfolder(tiny_vae_dir, tmp_path):
    import shutil

    shutil.copytree(tiny_vae_dir, tmp_path / "sd" / "vae")
    assert load_vae(str(tmp_path / "sd"), tmp_path).config.latent_channels == 4


def test_no_vae_configured_says_what_to_download(tmp_path):
    with pytest.raises(MissingDependencyError) as err:
        load_vae(None, tmp_path / "models" / "sd-vae-ft-mse")
    msg = str(err.value)
    assert "stabilityai/sd-vae-ft-mse" in msg and "--vae" in msg and str(tmp_path / "models" / "sd-vae-ft-mse") in msg


def test_missing_local_folder(tmp_path):
    with pytest.raises(MissingDependencyError, match="not found"):
        load_vae(str(tmp_path / "nope"), tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingDependencyError, match="no config.json"):
        load_vae(str(tmp_path / "empty"), tmp_path)


def test_hub_id_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert is_hub_id("stabilityai/sd-vae-ft-mse") and not is_hub_id("./models/x")
    with pytest.raises(MissingDependencyError, match="huggingface-cli download"):
        load_vae("stabilityai/sd-vae-ft-mse", tmp_path)


def test_cli_autoencoder_without_weights_is_one_line_error(tmp_path):
    out = subprocess.run([FVC, "scale", "-w", str(tmp_path / "ws"), "--method", "autoencoder"],
                         capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "CI": "true"})
    assert out.returncode == 2
    assert out.stderr.startswith("error:") and "sd-vae-ft-mse" in out.stderr and "Traceback" not in out.stderr
