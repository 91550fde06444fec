"""Autoencoder scaling: letterbox to the target size, then a VAE encode/decode pass.

The VAE (diffusers ``AutoencoderKL``) re-synthesises every frame, so all
videos share one decoder's texture statistics whatever their source
resolution or codec. Weights come from a local folder or a hub id; with no
weights available the error says what to download and where to put it,
and nothing else is substituted.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InputError, MissingDependencyError

DEFAULT_VAE = "stabilityai/sd-vae-ft-mse"


def _how_to_get(where: str) -> str:
    return (
        f"download the VAE weights of '{DEFAULT_VAE}' (config.json + diffusion_pytorch_model.safetensors), "
        f"e.g. `huggingface-cli download {DEFAULT_VAE} --local-dir {where}`, "
        f"then run `fvc scale --method autoencoder --vae {where}`"
    )


def is_hub_id(ref: str) -> bool:
    """``owner/name`` that is not an existing local path."""
    return ref.count("/") == 1 and not ref.startswith((".", "/", "~")) and not Path(ref).expanduser().exists()


def load_vae(ref: str | None, default_dir: Path):
    """An ``AutoencoderKL`` in eval mode on CPU, from a local folder or a hub id."""
    if not ref:
        raise MissingDependencyError(f"scale method 'autoencoder' needs a VAE and none is configured: {_how_to_get(str(default_dir))}")
    try:
        import torch  # noqa: F401
        from diffusers import AutoencoderKL
    except ImportError as exc:
        raise MissingDependencyError(f"the autoencoder needs torch and diffusers ({exc}); `pip install diffusers torch`") from exc
    path = Path(ref).expanduser()
    if not is_hub_id(ref):
        if not path.is_dir():
            raise MissingDependencyError(f"VAE folder '{path}' not found: {_how_to_get(str(path))}")
        sub = "vae" if (path / "vae" / "config.json").exists() and not (path / "config.json").exists() else None
        if not (path / (sub or "") / "config.json").exists():
            raise MissingDependencyError(f"VAE folder '{path}' has no config.json: {_how_to_get(str(path))}")
        try:
            vae = AutoencoderKL.from_pretrained(str(path), subfolder=sub)
        except (OSError, ValueError, EnvironmentError) as exc:
            raise MissingDependencyError(f"cannot load the VAE in '{path}' ({str(exc).splitlines()[0]}): {_how_to_get(str(path))}") from exc
    else:
        try:  # the local hub cache first: no network wait when it is there
            vae = AutoencoderKL.from_pretrained(ref, local_files_only=True)
        except (OSError, ValueError):
            if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
                raise MissingDependencyError(
                    f"VAE '{ref}' is not in the Hugging Face cache and HF_HUB_OFFLINE is set: {_how_to_get(str(default_dir))}"
                ) from None
            try:
                vae = AutoencoderKL.from_pretrained(ref)
            except Exception as exc:  # network errors come in many types
                raise MissingDependencyError(
                    f"cannot download VAE '{ref}' ({type(exc).__name__}): {_how_to_get(str(default_dir))}"
                ) from exc
    return vae.eval().to("cpu")


class VaeRoundTrip:
    """Encode and decode batches of RGB frames through a VAE (deterministic: latent mode)."""

    def __init__(self, vae):
        self.vae = vae
        self.factor = 2 ** (len(vae.config.block_out_channels) - 1)

    def __call__(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        import torch

        h, w = frames[0].shape[:2]
        if h % self.factor or w % self.factor:
            raise InputError("--size", f"frame size {w}x{h} is not a multiple of the VAE's factor {self.factor}")
        x = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
        with torch.inference_mode():
            latent = self.vae.encode(x).latent_dist.mode()
            y = self.vae.decode(latent).sample
        y = y.clamp(-1, 1).add(1.0).mul(127.5).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()
        return list(y)
