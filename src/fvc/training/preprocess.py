"""Feature preprocessing as one scikit-learn Pipeline, fitted on training rows only.

Median imputation, removal of near-constant columns, standard scaling and
removal of highly collinear columns all learn from data; putting them inside
the model's Pipeline means cross-validation refits them on each training
split, so no statistic of a test fold ever reaches the model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted


def _names(X, n: int) -> np.ndarray:
    if isinstance(X, pd.DataFrame):
        return np.asarray(X.columns, dtype=object)
    return np.array([f"x{i}" for i in range(n)], dtype=object)


class _ColumnSelector(TransformerMixin, BaseEstimator):
    """Shared mechanics: keep the columns in ``keep_`` (a boolean mask learnt in ``fit``)."""

    def transform(self, X):
        check_is_fitted(self, "keep_")
        if isinstance(X, pd.DataFrame):
            return X.loc[:, self.keep_]
        return np.asarray(X)[:, self.keep_]

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "keep_")
        names = np.asarray(input_features, dtype=object) if input_features is not None else self.feature_names_in_
        return names[self.keep_]


class NearConstantFilter(_ColumnSelector):
    """Drop columns whose most frequent value covers at least ``max_mode_fraction`` of rows."""

    def __init__(self, max_mode_fraction: float = 0.98):
        self.max_mode_fraction = max_mode_fraction

    def fit(self, X, y=None):
        A = np.asarray(X, dtype=float)
        self.feature_names_in_ = _names(X, A.shape[1])
        self.n_features_in_ = A.shape[1]
        keep = np.ones(A.shape[1], dtype=bool)
        for j in range(A.shape[1]):
            col = A[:, j]
            col = col[np.isfinite(col)]
            if col.size == 0:
                keep[j] = False
                continue
            _, counts = np.unique(col, return_counts=True)
            keep[j] = counts.max() / col.size < self.max_mode_fraction
        if not keep.any():
            keep[:] = True  # every column constant: keep them rather than produce an empty matrix
        self.keep_ = keep
        return self


class CorrelationFilter(_ColumnSelector):
    """Drop the later column of every pair with |Pearson r| > ``threshold``.

    Greedy in column order: a column is dropped only if it is too correlated
    with a column that is itself kept, so at least one of each group stays.
    """

    def __init__(self, threshold: float = 0.95):
        self.threshold = threshold

    def fit(self, X, y=None):
        A = np.asarray(X, dtype=float)
        self.feature_names_in_ = _names(X, A.shape[1])
        self.n_features_in_ = A.shape[1]
        std = A.std(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.corrcoef(A, rowvar=False) if A.shape[1] > 1 else np.ones((1, 1))
        corr = np.nan_to_num(np.atleast_2d(corr), nan=0.0)
        keep = np.ones(A.shape[1], dtype=bool)
        for j in range(A.shape[1]):
            if std[j] == 0:
                continue
            earlier = np.flatnonzero(keep[:j])
            if earlier.size and np.any(np.abs(corr[j, earlier]) > self.threshold):
                keep[j] = False
        self.keep_ = keep
        return self


def build_preprocessor(corr_threshold: float = 0.95, max_mode_fraction: float = 0.98) -> list[tuple[str, object]]:
    """Pipeline steps before the estimator: impute -> near-constant -> scale -> collinear."""
    return [
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
        ("near_constant", NearConstantFilter(max_mode_fraction)),
        ("scale", StandardScaler()),
        ("collinear", CorrelationFilter(corr_threshold)),
    ]


def build_pipeline(estimator, extra_steps: list[tuple[str, object]] | None = None, **kw) -> Pipeline:
    """Preprocessing + ``extra_steps`` (e.g. a test's spy) + the estimator as step ``clf``."""
    steps = build_preprocessor(**kw) + list(extra_steps or []) + [("clf", estimator)]
    return Pipeline(steps)


def selected_features(pipeline: Pipeline, input_features) -> list[str]:
    """Names of the columns that reach the estimator of a fitted pipeline."""
    pre = Pipeline(pipeline.steps[:-1])
    return list(pre.get_feature_names_out(np.asarray(input_features, dtype=object)))
