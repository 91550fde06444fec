"""Checkpoint manager: one file per epoch, keep the last K plus the best.

Shared by the deep trainer and tracking: ``checkpoints.json`` in the folder
lists what is kept (epoch, file, monitored metric) so a tracker can log the
best checkpoint without knowing how the trainer names files. Every file is
written atomically, so a kill mid-save leaves the previous checkpoint intact.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import torch

from ..errors import InputError
from ..workspace import atomic_path, atomic_write_text

MANIFEST = "checkpoints.json"
BEST = "best.pt"


def _share(src: Path, dest: Path) -> None:
    """Make ``dest`` a hard link to ``src``: the best epoch's state (400 MB for R3D-18 with
    AdamW's moments) is stored once, not twice. A copy where the filesystem has no links."""
    dest.unlink()
    try:
        os.link(src, dest)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV):
            raise
        shutil.copyfile(src, dest)


class CheckpointManager:
    """Save/load training state in ``directory``; ``mode`` is 'min' (loss) or 'max' (AUC)."""

    def __init__(self, directory: str | Path, keep_last: int = 2, mode: str = "min"):
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.dir = Path(directory)
        self.keep_last = max(1, int(keep_last))
        self.mode = mode
        self.manifest = self._read_manifest()

    # -- manifest -----------------------------------------------------------
    def _read_manifest(self) -> dict[str, Any]:
        path = self.dir / MANIFEST
        if path.exists():
            try:
                return json.loads(path.read_text())
            except json.JSONDecodeError as exc:
                raise InputError(path, f"checkpoint manifest is not valid JSON ({exc})") from exc
        return {"mode": self.mode, "checkpoints": [], "best": None}

    def _write_manifest(self) -> None:
        atomic_write_text(self.dir / MANIFEST, json.dumps(self.manifest, indent=1))

    def is_better(self, metric: float | None) -> bool:
        if metric is None or not math.isfinite(metric):
            return False
        best = self.manifest.get("best")
        if best is None or best.get("metric") is None:
            return True
        return metric < best["metric"] if self.mode == "min" else metric > best["metric"]

    # -- save / load --------------------------------------------------------
    def save(self, state: dict[str, Any], epoch: int, metric: float | None = None) -> Path:
        """Write ``epoch-NNNN.pt``; refresh ``best.pt`` if ``metric`` improved; prune old ones."""
        self.dir.mkdir(parents=True, exist_ok=True)
        name = f"epoch-{epoch:04d}.pt"
        path = self.dir / name
        with atomic_path(path) as tmp:
            torch.save(state, tmp)
        entry = {"epoch": int(epoch), "file": name, "metric": None if metric is None else float(metric)}
        kept = [c for c in self.manifest["checkpoints"] if c["epoch"] != epoch] + [entry]
        self.manifest["checkpoints"] = sorted(kept, key=lambda c: c["epoch"])
        if self.is_better(metric):
            with atomic_path(self.dir / BEST) as tmp:
                _share(path, tmp)
            self.manifest["best"] = {**entry, "file": BEST, "source": name}
        self._prune()
        self._write_manifest()
        return path

    def _prune(self) -> None:
        ckpts = self.manifest["checkpoints"]
        for c in ckpts[: -self.keep_last]:
            f = self.dir / c["file"]
            if f.exists():
                os.remove(f)
        self.manifest["checkpoints"] = ckpts[-self.keep_last :]

    def latest(self) -> Path | None:
        ckpts = self.manifest["checkpoints"]
        if not ckpts:
            return None
        path = self.dir / ckpts[-1]["file"]
        return path if path.exists() else None

    def best(self) -> Path | None:
        best = self.manifest.get("best")
        if not best:
            return None
        path = self.dir / best["file"]
        return path if path.exists() else None

    @property
    def best_metric(self) -> float | None:
        best = self.manifest.get("best")
        return None if not best else best.get("metric")

    @staticmethod
    def load(path: str | Path) -> dict[str, Any]:
        """Load a checkpoint saved here (full training state: RNG states need weights_only=False)."""
        path = Path(path)
        if not path.exists():
            raise InputError(path, "checkpoint not found")
        try:
            return torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:
            raise InputError(path, f"cannot load checkpoint ({type(exc).__name__}: {exc})") from exc

    def clear(self) -> None:
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.manifest = {"mode": self.mode, "checkpoints": [], "best": None}
