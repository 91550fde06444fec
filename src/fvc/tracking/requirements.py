"""Pinned pip requirements for logged models: the running environment's versions of what a model imports.

Explicit pins keep ``log_model`` fast (no requirement inference) and the
served model on the versions it was trained with.
"""

from __future__ import annotations

import importlib.metadata as md
from typing import Any

BASE_REQUIREMENTS = ("mlflow", "scikit-learn", "numpy", "pandas", "pyarrow", "joblib", "scipy")
# What loading a saved model imports (the card's config classes, the catalog).
FVC_REQUIREMENTS = ("pydantic", "pyyaml", "opencv-python-headless")
# Libraries a pickled estimator may reference, by top-level module -> distribution.
OPTIONAL_REQUIREMENTS = {"xgboost": "xgboost", "lightgbm": "lightgbm", "catboost": "catboost", "torch": "torch"}


def _estimators(obj: Any, seen: set[int] | None = None):
    """The object and every estimator nested in it through sklearn's get_params."""
    seen = seen if seen is not None else set()
    if id(obj) in seen:
        return
    seen.add(id(obj))
    yield obj
    if hasattr(obj, "pipeline"):  # fvc FeatureModel
        yield from _estimators(obj.pipeline, seen)
    if hasattr(obj, "get_params"):
        try:
            params = obj.get_params(deep=True)
        except Exception:  # third-party estimators with broken get_params
            return
        for value in params.values():
            if hasattr(value, "fit") or hasattr(value, "get_params"):
                yield from _estimators(value, seen)


def pip_requirements(model: Any = None) -> list[str]:
    """Pinned requirements of the running environment for the libraries the model uses."""
    names = list(BASE_REQUIREMENTS) + list(FVC_REQUIREMENTS)
    if model is not None:
        roots = {type(o).__module__.split(".")[0] for o in _estimators(model)}
        names += [dist for mod, dist in OPTIONAL_REQUIREMENTS.items() if mod in roots]
    return pinned_requirements(names)


def pinned_requirements(names: list[str]) -> list[str]:
    """``name==version`` for each installed distribution of ``names``, plus fvc-detect itself.

    Explicit pins keep ``log_model`` fast (no requirement inference) and the
    served model on the versions it was trained with.
    """
    reqs = []
    for name in [*names, "fvc-detect"]:
        try:
            reqs.append(f"{name}=={md.version(name)}")
        except md.PackageNotFoundError:
            continue
    return reqs
