"""A typed, hashed description of one training run.

``fvc train --config run.yaml`` rebuilds exactly the run a ``RunConfig`` was
saved from; its hash names the run in ``metrics.json``, MLflow and the saved
model, so a result can always be traced to the settings that made it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..config import load_yaml_model, stable_hash
from ..errors import InputError
from ..models import get_model
from ..workspace import Workspace, atomic_write_text


RUNTIME_FIELDS = ("device", "workers", "ddp")  # decide the speed of a run, not its result


class RunConfig(BaseModel):
    """Everything that decides a training run's result (not where it is logged)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    model: str = Field(description="Catalog model id, e.g. '5a' or '5beta-xgb'.")
    preset: str = Field("full", description="Named preset of the model ('smoke' or 'full').")
    folds: list[int] | None = Field(None, description="Outer folds to evaluate; None = every fold in splits.")
    seed: int = 42
    inner_folds: int = Field(3, ge=2, description="Inner grouped CV folds for the grid search.")
    scoring: str = "roc_auc"
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="Hyper-parameter grid; empty = model default.")
    params: dict[str, Any] = Field(default_factory=dict, description="Fixed model/trainer parameters.")
    class_weight: str | None = "balanced"
    feature_stages: list[int] = Field(default_factory=lambda: [2])
    video_level: bool = Field(True, description="Score per source video (mean over augmented copies/clips).")
    threshold: float = 0.5
    refit_final: bool = True
    # where and how fast deep models train, not what they compute: left out of the hash
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$",
                        description="Deep models: auto (CUDA when torch sees a GPU), cpu, cuda or cuda:N.")
    workers: int | None = Field(None, ge=0, description="Deep models: loader workers; None = cores - 1 on CUDA, 0 on CPU.")
    ddp: bool = Field(False, description="Deep models: data parallel over the processes torchrun started.")

    @field_validator("feature_stages")
    @classmethod
    def _stages(cls, v: list[int]) -> list[int]:
        bad = [s for s in v if s not in (2, 4)]
        if bad:
            raise ValueError(f"feature stages must be 2 or 4, got {bad}")
        return sorted(set(v))

    def hash(self) -> str:
        return stable_hash(self.model_dump(mode="json", exclude=set(RUNTIME_FIELDS)))

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)

    def save(self, path: str | Path) -> Path:
        return atomic_write_text(path, self.to_yaml())

    @classmethod
    def from_yaml(cls, path: str | Path) -> "RunConfig":
        return load_yaml_model(cls, path, "run config")


def default_run_config(model_id: str, **overrides: Any) -> RunConfig:
    """The RunConfig ``fvc train --model ID`` uses without --config: the catalog's defaults + overrides.

    The preset is the catalog's default (``full``) unless one is asked for;
    feature models take their stages from the data config and their grid from the preset, as embedding models
    take their grid.
    """
    entry = get_model(model_id)
    preset = overrides.get("preset") or entry.default_preset
    base: dict[str, Any] = {"model": entry.id, "preset": preset}
    if entry.family == "features":
        base["feature_stages"] = list(entry.data.stages)
    if entry.family in ("features", "embedding"):
        base["grid"] = {k: list(v) for k, v in entry.preset(preset).get("grid", {}).items()}
    base.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return RunConfig(**base)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError("fvc train", f"invalid option '{'.'.join(map(str, first['loc']))}': {first['msg']}") from exc


def check_fold_count(ws: Workspace, folds: int) -> None:
    """``--folds N`` must match the folds in splits.parquet (folds are made once, by 'fvc splits')."""
    if not ws.has("splits"):
        raise InputError(ws.table("splits"), "table not found; run 'fvc splits' first")
    have = sorted(int(f) for f in ws.read("splits")["fold"].unique() if int(f) >= 0)
    if len(have) != folds:
        raise InputError(ws.table("splits"), f"has {len(have)} folds, not {folds}; run 'fvc splits --folds {folds}'")
