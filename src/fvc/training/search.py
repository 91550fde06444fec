"""Hyper-parameter search with inner grouped CV, on training rows only.

The outer CV hands this module nothing but the training folds; the inner
folds are grouped by cascade like the outer ones, so near-duplicate videos
never sit on both sides of an inner split either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, ParameterGrid, StratifiedGroupKFold

from ..errors import InputError


@dataclass
class SearchResult:
    estimator: Any
    best_params: dict[str, Any]
    best_score: float
    points: list[tuple[dict[str, Any], float]]


def inner_splits(y: np.ndarray, groups: np.ndarray, wanted: int) -> int:
    """Inner fold count: ``wanted``, reduced so each class has a group in every fold."""
    per_class = [len(np.unique(groups[y == c])) for c in np.unique(y)]
    if len(per_class) < 2:
        raise InputError("training folds", "only one class among the training rows")
    n = min(wanted, min(per_class))
    if n < 2:
        raise InputError("training folds", "fewer than 2 cascade groups in a class; cannot run inner CV")
    return n


def grouped_search(
    estimator: Any,
    grid: Mapping[str, list[Any]],
    X: pd.DataFrame,
    y: np.ndarray,
    groups: np.ndarray,
    *,
    inner_folds: int = 3,
    seed: int = 42,
    scoring: str = "roc_auc",
    fit_params: Mapping[str, Any] | None = None,
    on_point: Callable[[dict[str, Any], float], None] | None = None,
) -> SearchResult:
    """Fit ``estimator`` on (X, y): grid-searched with grouped inner CV when the grid has >1 point."""
    fit_params = dict(fit_params or {})
    points = list(ParameterGrid(dict(grid))) if grid else [{}]
    if len(points) == 1:
        est = clone(estimator).set_params(**points[0]).fit(X, y, **fit_params)
        return SearchResult(est, points[0], float("nan"), [])
    cv = StratifiedGroupKFold(n_splits=inner_splits(y, groups, inner_folds), shuffle=True, random_state=seed)
    gs = GridSearchCV(clone(estimator), dict(grid), scoring=scoring, cv=cv, refit=True, n_jobs=1,
                      error_score="raise")
    gs.fit(X, y, groups=groups, **fit_params)
    res = gs.cv_results_
    scored = [(dict(p), float(s)) for p, s in zip(res["params"], res["mean_test_score"])]
    if on_point is not None:
        for p, s in scored:
            on_point(p, s)
    return SearchResult(gs.best_estimator_, dict(gs.best_params_), float(gs.best_score_), scored)
