"""Pretrained weights: a catalog :class:`~fvc.models.catalog.Weights` entry or a local file.

Weights are looked up in torch hub's cache (``$TORCH_HOME/hub/checkpoints``)
first; a download is tried only when the file is absent and ``FVC_OFFLINE``
is not set. When neither works the error names the exact file and folder, so
a user can copy it there by hand; training from scratch needs an explicit
``--no-pretrained`` and is never a silent fallback.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlparse

import torch

from ...errors import InputError, MissingDependencyError

DOWNLOAD_TIMEOUT_S = 20


def hub_checkpoint_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def hub_checkpoint_path(url: str, file: str | None = None) -> Path:
    """Where a weights file lives in torch hub's cache: ``file`` when given, else the url's basename."""
    return hub_checkpoint_dir() / (file or os.path.basename(urlparse(url).path))


def load_local_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from a .pth/.pt (optionally wrapped in 'state_dict'/'model') or .safetensors file."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "weights file not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InputError(path, f"not a readable weights file ({type(exc).__name__}: {exc})") from exc
    for key in ("state_dict", "model", "model_state"):
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
    if not isinstance(state, dict):
        raise InputError(path, "weights file does not hold a state dict")
    return state


def _download(url: str, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        torch.hub.download_url_to_file(url, str(dest), progress=False)
    finally:
        socket.setdefaulttimeout(old)


def load_weights(weights) -> dict[str, torch.Tensor]:
    """The state dict of a catalog ``Weights`` entry, from torch hub's cache or downloaded.

    Raises MissingDependencyError naming the file and folder when offline.
    """
    dest = hub_checkpoint_path(weights.url, getattr(weights, "file", None))
    if not dest.exists():
        reason = "FVC_OFFLINE is set"
        if not os.environ.get("FVC_OFFLINE"):
            try:
                _download(weights.url, dest)
            except Exception as exc:  # URLError, timeouts, HTTP errors: all mean "not available"
                reason = f"download failed: {type(exc).__name__}"
        if not dest.exists():
            raise MissingDependencyError(
                f"pretrained weights {weights.name} not available ({reason}): download {weights.url} and put it at "
                f"{dest} (folder $TORCH_HOME/hub/checkpoints = {dest.parent}), or pass --no-pretrained "
                "to train from scratch"
            )
    return load_local_weights(dest)


def resolve_weights(weights) -> dict[str, torch.Tensor] | None:
    """``weights`` is None (train from scratch), a catalog ``Weights`` entry, or a local file path."""
    if weights in (None, False, "none", ""):
        return None
    if isinstance(weights, (str, Path)):
        return load_local_weights(weights)
    return load_weights(weights)
