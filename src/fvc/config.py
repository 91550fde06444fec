"""Typed project configuration, stored as ``fvc.yaml`` in the workspace.

Each stage hashes only the section(s) it depends on, so changing the model
grid never invalidates extracted features, and changing augmentation does.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import InputError
from .workspace import Workspace, atomic_write_text

KNOWN_LABELS = ("fake", "real", "uncertain", "debunked", "parody")
# Environment variable holding the FVC archive password (never stored in fvc.yaml).
ENV_PASSWORD = "FVC_ARCHIVE_PASSWORD"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(Section):
    # Label values of FVC.csv / FVC_dup.csv mapped to training targets;
    # None keeps the row (with label_raw) but excludes it from training.
    label_map: dict[str, int | None] = Field(
        default_factory=lambda: {"fake": 1, "real": 0, "uncertain": None, "debunked": None, "parody": None}
    )
    # Refuse archive members whose declared size or compression ratio is absurd.
    max_member_bytes: int = 8 * 1024**3
    max_total_bytes: int = 512 * 1024**3
    max_compression_ratio: float = 200.0


class SplitsConfig(Section):
    folds: int = 5
    seed: int = 42


class AugmentConfig(Section):
    per_video: int = 10
    seed: int = 42
    chunk_frames: int = 250
    chunk_mb: int = 16  # frames held at once (reversal) never exceed this many MB
    op_probability: float = 0.5  # chance that each augmentation op is on
    include_unlabeled: bool = False  # also augment fold -1 / unlabelled videos
    preset: str = "veryfast"  # libx264 preset and CRF of the outputs
    crf: int = 20


class FeaturesConfig(Section):
    sample_fraction: float = 0.10
    min_frames: int = 5
    max_frames: int = 50


class ScaleConfig(Section):
    size: int = 256
    method: str = "letterbox"
    vae: str | None = None
    vae_batch: int = 4  # frames per autoencoder forward pass
    preset: str = "veryfast"
    crf: int = 20


class FvcConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    seed: int = 42
    data: DataConfig = Field(default_factory=DataConfig)
    splits: SplitsConfig = Field(default_factory=SplitsConfig)
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    scale: ScaleConfig = Field(default_factory=ScaleConfig)

    # -- hashing ----------------------------------------------------------
    def section_hash(self, *sections: str) -> str:
        """Short stable hash of the named sections (all of them when none given)."""
        data = self.model_dump(mode="json")
        if sections:
            data = {name: data[name] for name in sections}
        return stable_hash(data)

    # -- YAML -------------------------------------------------------------
    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)

    @classmethod
    def from_yaml(cls, path: str | Path) -> "FvcConfig":
        return load_yaml_model(cls, path, "config")


def load_yaml_model(cls: type[BaseModel], path: str | Path, what: str) -> Any:
    """Validate a YAML file into a pydantic model; any problem is one InputError line."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(path, f"cannot read {what} ({exc})") from exc
    if not isinstance(raw, dict):
        raise InputError(path, f"{what} must be a YAML mapping")
    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(top)"
        raise InputError(path, f"invalid {what} at '{loc}': {first['msg']}") from exc


def stable_hash(obj: Any, length: int = 12) -> str:
    """sha256 of canonical JSON: the same content always gives the same hash."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


def load_config(ws: Workspace) -> FvcConfig:
    if ws.config_path.exists():
        return FvcConfig.from_yaml(ws.config_path)
    return FvcConfig()


def save_config(ws: Workspace, cfg: FvcConfig) -> Path:
    return atomic_write_text(ws.config_path, cfg.to_yaml())
