"""Deep video models (stage 5c-5u), registered into the shared model registry on import."""

from __future__ import annotations

from functools import partial

from ..registry import ModelSpec, register
from .catalog import DEFS, DeepModelDef, get_def

__all__ = ["DEFS", "DeepModelDef", "get_def"]


def _run_cv(model_def: DeepModelDef, ctx):
    from ...training.deep_cv import run_deep_cv

    return run_deep_cv(model_def, ctx)


for _d in DEFS:
    register(ModelSpec(
        id=_d.id, name=_d.name, family="deep", inputs=_d.inputs, description=_d.description,
        run_cv=partial(_run_cv, _d), presets=("smoke", "full"), aliases=_d.aliases,
        extra={"presets": {k: v for k, v in _d.presets.items()}},
    ))
