"""Typed project configuration, stored as ``fvc.yaml`` in the workspace.

Each stage hashes only the section(s) it depends on, so changing the model
grid never invalidates extracted features, and changing augmentation does.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import InputError
from .workspace import Workspace, atomic_write_text

KNOWN_LABELS = ("fake", "real", "uncertain", "debunked", "parody")
# Environment variable holding the FVC archive password (never stored in fvc.yaml).
ENV_PASSWORD = "FVC_ARCHIVE_PASSWORD"

# libx264 speed presets (the encoders of augment and scale take these names).
X264Preset = Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
                     "placebo"]
Crf = Annotated[int, Field(ge=0, le=51)]
Positive = Annotated[int, Field(ge=1)]
# Augmentation profiles (fvc.augment.params), or 'none': no copies for that consumer.
AugProfile = Literal["none", "forensic_safe", "full"]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(Section):
    # Label values of FVC.csv / FVC_dup.csv mapped to training targets;
    # None keeps the row (with label_raw) but excludes it from training.
    label_map: dict[str, Literal[0, 1] | None] = Field(
        default_factory=lambda: {"fake": 1, "real": 0, "uncertain": None, "debunked": None, "parody": None}
    )
    # Refuse archive members whose declared size or compression ratio is absurd.
    max_member_bytes: Positive = 8 * 1024**3
    max_total_bytes: Positive = 512 * 1024**3
    max_compression_ratio: float = Field(200.0, gt=1)


class SplitsConfig(Section):
    folds: int = Field(5, ge=2)  # at most the labelled cascade groups of each label: checked on the data
    seed: int = 42


class AugmentConfig(Section):
    per_video: int = Field(10, ge=0)
    seed: int = 42
    chunk_frames: Positive = 250
    chunk_mb: Positive = 16  # frames held at once (reversal) never exceed this many MB
    op_probability: float = Field(0.5, ge=0, le=1)  # chance that each augmentation op is on
    include_unlabeled: bool = False  # also augment fold -1 / unlabelled videos
    preset: X264Preset = "veryfast"  # libx264 preset and CRF of the outputs
    crf: Crf = 20
    # Profile of the copies stage-2 features read ('none': the originals only), and of the copies made
    # for stage 3 and the deep models' clips; fvc.augment.params describes them. 'none' is the default:
    # on the demo corpora it scored as well as forensic_safe copies (and far above full ones) at a third
    # of the cost (benchmarks/bench_synth.py --learn --profile P --per-video N).
    profile: AugProfile = "none"
    deep_profile: AugProfile = "full"


class FeaturesConfig(Section):
    sample_fraction: float = Field(0.10, gt=0, le=1)
    min_frames: Positive = 5
    max_frames: Positive = 50
    # seek: decode only the GOPs holding a sampled frame; auto: seek when that skips a third of them
    sampling: Literal["auto", "sequential", "seek"] = "auto"

    @model_validator(mode="after")
    def _min_not_above_max(self) -> "FeaturesConfig":
        if self.min_frames > self.max_frames:
            raise ValueError(f"min_frames ({self.min_frames}) must not exceed max_frames ({self.max_frames})")
        return self


class ScaleConfig(Section):
    size: int = Field(256, ge=16, multiple_of=2)  # H.264 4:2:0 needs even sides
    method: Literal["letterbox", "autoencoder"] = "letterbox"
    vae: str | None = None
    vae_batch: Positive = 4  # frames per autoencoder forward pass
    preset: X264Preset = "veryfast"
    crf: Crf = 20


# Largest frames decoded by default: 8K UHD (12000x12000 took 5 GB in augment).
MAX_FRAME_SIDE = 8192
MAX_FRAME_PIXELS = 8192 * 4320


class VideoConfig(Section):
    """Limits checked from a stream's header before any frame is decoded."""

    max_side: Positive = MAX_FRAME_SIDE  # longer side, pixels
    max_pixels: Positive = MAX_FRAME_PIXELS  # width x height


class FvcConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    seed: int = 42
    data: DataConfig = Field(default_factory=DataConfig)
    splits: SplitsConfig = Field(default_factory=SplitsConfig)
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    scale: ScaleConfig = Field(default_factory=ScaleConfig)
    video: VideoConfig = Field(default_factory=VideoConfig)

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
    except UnicodeDecodeError as exc:
        raise InputError(path, f"cannot read {what}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise InputError(path, f"cannot read {what} ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        raise InputError(path, f"cannot read {what}: not valid YAML ({_one_line(exc)})") from exc
    if not isinstance(raw, dict):
        raise InputError(path, f"{what} must be a YAML mapping")
    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        loc, msg = _first_error(exc)
        raise InputError(path, f"invalid {what} at '{loc}': {msg}") from exc


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _first_error(exc: ValidationError) -> tuple[str, str]:
    """(dotted location, message) of a pydantic error, the message on one line."""
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(top)"
    return loc, _one_line(first["msg"]).removeprefix("Value error, ")


def option_name(key: str) -> str:
    """The CLI option of a config key: ``augment.per_video`` -> ``--per-video``."""
    return "--" + key.rsplit(".", 1)[-1].replace("_", "-")


def with_options(cfg: FvcConfig, options: dict[str, Any]) -> FvcConfig:
    """A validated copy of ``cfg`` with command-line values set (``{"augment.per_video": 3}``).

    ``None`` means "not given". Nothing is written: an invalid value raises a
    one-line InputError naming the option, so a bad value never reaches fvc.yaml.
    """
    given = {key: value for key, value in options.items() if value is not None}
    if not given:
        return cfg
    data = cfg.model_dump()
    for key, value in given.items():
        section, name = key.split(".")
        data[section][name] = value
    try:
        return FvcConfig.model_validate(data)
    except ValidationError as exc:
        loc, msg = _first_error(exc)
        if loc in given:
            raise InputError(option_name(loc), f"invalid value {given[loc]!r} for {loc}: {msg}") from None
        named = ", ".join(f"{option_name(k)} {v!r}" for k, v in given.items() if loc.startswith(k.split(".")[0]))
        raise InputError(named or "fvc.yaml", f"invalid {loc}: {msg}") from None


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
