"""A typed, hashed description of one training run, and the context a trainer gets.

``fvc train --config run.yaml`` rebuilds exactly the run a ``RunConfig`` was
saved from; its hash names the run in ``metrics.json``, MLflow and the saved
model, so a result can always be traced to the settings that made it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..config import FvcConfig, load_yaml_model, stable_hash
from ..errors import InputError
from ..workspace import Workspace
from .events import CompositeObserver, TrainObserver

if TYPE_CHECKING:
    from ..models.registry import ModelSpec


class RunConfig(BaseModel):
    """Everything that decides a training run's result (not where it is logged)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    model: str = Field(description="Registered model id, e.g. '5a' or '5beta-xgb'.")
    preset: str = Field("default", description="Named size/preset of the model ('default', 'smoke', 'full').")
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

    @field_validator("feature_stages")
    @classmethod
    def _stages(cls, v: list[int]) -> list[int]:
        bad = [s for s in v if s not in (2, 4)]
        if bad:
            raise ValueError(f"feature stages must be 2 or 4, got {bad}")
        return sorted(set(v))

    def hash(self) -> str:
        return stable_hash(self.model_dump(mode="json"))

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)

    def save(self, path: str | Path) -> Path:
        from ..workspace import atomic_write_text

        return atomic_write_text(path, self.to_yaml())

    @classmethod
    def from_yaml(cls, path: str | Path) -> "RunConfig":
        return load_yaml_model(cls, path, "run config")


def default_run_config(model_id: str, **overrides: Any) -> RunConfig:
    """The RunConfig ``fvc train --model ID`` uses without --config: the spec's defaults + overrides.

    Feature models take their stages and grid from the spec; any model may put
    ``default_params`` (a dict) in ``spec.extra``; the first preset is the default.
    """
    from ..models.registry import get_model_spec

    spec = get_model_spec(model_id)
    base: dict[str, Any] = {"model": spec.id, "preset": spec.presets[0] if spec.presets else "default"}
    if spec.feature_stages:
        base["feature_stages"] = list(spec.feature_stages)
    if spec.default_grid:
        base["grid"] = {k: list(v) for k, v in spec.default_grid.items()}
    if spec.extra.get("default_params"):
        base["params"] = dict(spec.extra["default_params"])
    base.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return RunConfig(**base)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError("fvc train", f"invalid option '{'.'.join(map(str, first['loc']))}': {first['msg']}") from exc


def data_fingerprint(ws: Workspace, tables: list[str]) -> str:
    """Short hash of the bytes of the given tables (missing ones count as absent)."""
    h = hashlib.sha256()
    for name in sorted(set(tables)):
        path = ws.table(name)
        h.update(name.encode())
        if path.exists():
            with path.open("rb") as fh:
                while block := fh.read(1 << 20):
                    h.update(block)
        else:
            h.update(b"<missing>")
    return h.hexdigest()[:12]


@dataclass
class TrainContext:
    """What a model's ``run_cv`` receives from ``fvc train`` (or a test)."""

    ws: Workspace
    cfg: FvcConfig
    run_config: RunConfig
    spec: "ModelSpec"
    observers: CompositeObserver = field(default_factory=CompositeObserver)
    force: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        ws: Workspace,
        cfg: FvcConfig,
        run_config: RunConfig,
        observers: list[TrainObserver] | None = None,
        **kw: Any,
    ) -> "TrainContext":
        from ..models.registry import get_model_spec

        spec = get_model_spec(run_config.model)
        return cls(ws=ws, cfg=cfg, run_config=run_config, spec=spec,
                   observers=CompositeObserver(observers or []), **kw)


def check_fold_count(ws: Workspace, folds: int) -> None:
    """``--folds N`` must match the folds in splits.parquet (folds are made once, by 'fvc splits')."""
    if not ws.has("splits"):
        raise InputError(ws.table("splits"), "table not found; run 'fvc splits' first")
    have = sorted(int(f) for f in ws.read("splits")["fold"].unique() if int(f) >= 0)
    if len(have) != folds:
        raise InputError(ws.table("splits"), f"has {len(have)} folds, not {folds}; run 'fvc splits --folds {folds}'")


def run_training(
    ws: Workspace, cfg: FvcConfig, run_configs: list[RunConfig], observers: list[TrainObserver] | None = None,
    force: bool = False,
) -> list[Any]:
    """Dispatch each RunConfig to its model's ``run_cv``; returns the CVResults in order."""
    results = []
    for rc in run_configs:
        ctx = TrainContext.build(ws, cfg, rc, observers=observers, force=force)
        results.append(ctx.spec.run_cv(ctx))
    return results
