"""Model registry: every trainable model, feature-based or deep, by id.

Like timm's ``register_model``: a module registers its models at import time,
``fvc train --model ID`` looks them up here and calls ``spec.run_cv(ctx)``.
Deep models live in ``fvc.models.deep`` (another package); it is imported on
first lookup when it exists, so this module never depends on torch.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import InputError

if TYPE_CHECKING:
    from ..training.results import CVResult
    from ..training.run_config import TrainContext

FAMILIES = ("features", "deep")
# Packages that register models when imported; optional ones are skipped only
# when the package does not exist at all (an import error inside one is a bug and raises).
_PROVIDERS = ("fvc.models.feature_models", "fvc.models.deep")


@dataclass(frozen=True)
class ModelSpec:
    """One registered model: metadata plus the CV entry point ``run_cv(ctx) -> CVResult``."""

    id: str
    name: str
    family: str
    inputs: str
    description: str
    run_cv: Callable[["TrainContext"], "CVResult"]
    presets: tuple[str, ...] = ("default",)
    feature_stages: tuple[int, ...] = ()
    default_grid: dict[str, list[Any]] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"model {self.id}: family must be one of {FAMILIES}, got {self.family!r}")
        if not callable(self.run_cv):
            raise ValueError(f"model {self.id}: run_cv must be callable")

    def as_row(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "family": self.family, "inputs": self.inputs,
                "presets": ",".join(self.presets), "description": self.description}


_REGISTRY: dict[str, ModelSpec] = {}
_loaded: set[str] = set()


def register(spec: ModelSpec) -> ModelSpec:
    """Add a model; registering the same id twice with a different entry point is an error."""
    old = _REGISTRY.get(spec.id)
    if old is not None and old.run_cv is not spec.run_cv:
        raise ValueError(f"model id '{spec.id}' is already registered ({old.name})")
    _REGISTRY[spec.id] = spec
    return spec


def register_model(
    id: str, name: str, family: str, inputs: str, description: str = "", **kw: Any
) -> Callable[[Callable[["TrainContext"], "CVResult"]], Callable[["TrainContext"], "CVResult"]]:
    """Decorator form: ``@register_model("5c", "naive 3D CNN", "deep", "scaled clips")`` on a run_cv function."""

    def deco(fn: Callable[["TrainContext"], "CVResult"]) -> Callable[["TrainContext"], "CVResult"]:
        register(ModelSpec(id=id, name=name, family=family, inputs=inputs,
                           description=description or (fn.__doc__ or "").strip().split("\n")[0], run_cv=fn, **kw))
        return fn

    return deco


def _load_providers(only: tuple[str, ...] = _PROVIDERS) -> None:
    # Deep models import torch (seconds): load them only when a lookup needs them.
    for mod in only:
        if mod not in _loaded and importlib.util.find_spec(mod) is not None:
            importlib.import_module(mod)
            _loaded.add(mod)


def list_models(family: str | None = None) -> list[ModelSpec]:
    """Every registered model (optionally one family), sorted by id."""
    _load_providers(_PROVIDERS[:1] if family == "features" else _PROVIDERS)
    specs = [s for s in _REGISTRY.values() if family is None or s.family == family]
    return sorted(specs, key=lambda s: _sort_key(s.id))


def get_model_spec(id_or_name: str) -> ModelSpec:
    """Look a model up by id, alias or name (case-insensitive); unknown -> InputError listing ids."""
    key = str(id_or_name).strip().lower()
    for providers in (_PROVIDERS[:1], _PROVIDERS):
        _load_providers(providers)
        for spec in _REGISTRY.values():
            if key == spec.id.lower() or key == spec.name.lower() or key in (a.lower() for a in spec.aliases):
                return spec
    known = ", ".join(s.id for s in list_models())
    raise InputError("--model", f"unknown model '{id_or_name}'; known ids: {known}")


def resolve_models(selector: str) -> list[ModelSpec]:
    """``all`` = every feature model, ``deep``/``features`` = a family, else comma-separated ids."""
    sel = selector.strip().lower()
    if sel in ("all", "features"):
        return list_models("features")
    if sel == "deep":
        return list_models("deep")
    return [get_model_spec(part) for part in selector.split(",") if part.strip()]


def _sort_key(model_id: str) -> tuple:
    import re

    m = re.match(r"(\d+)(.*)", model_id)
    return (int(m.group(1)), m.group(2)) if m else (10**6, model_id)
