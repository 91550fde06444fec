"""Feature models 5a, 5alpha, 5b and 5beta: scikit-learn estimators on stage-2/4 handcrafted features.

Each builder returns the shared preprocessing Pipeline plus one estimator;
its ``full`` preset carries a small grid (small enough that the demo trains
all of them in minutes on two cores).
"""

from __future__ import annotations

from typing import Any

from sklearn.pipeline import Pipeline

from ..errors import MissingDependencyError
from ..features.columns import FEATURE_VERSION
from ..training.preprocess import build_pipeline
from .catalog import DataConfig, ModelEntry, register_model

STAGE2 = DataConfig(kind="features", stages=(2,), feature_version=FEATURE_VERSION)
STAGE24 = DataConfig(kind="features", stages=(2, 4), feature_version=FEATURE_VERSION)


def logreg(*, seed: int = 42, C: float = 1.0) -> Pipeline:
    from sklearn.linear_model import LogisticRegression

    return build_pipeline(LogisticRegression(C=C, max_iter=2000, random_state=seed))


def elasticnet(*, seed: int = 42, C: float = 1.0, l1_ratio: float = 0.5) -> Pipeline:
    from sklearn.linear_model import LogisticRegression

    return build_pipeline(LogisticRegression(solver="saga", l1_ratio=l1_ratio, C=C, max_iter=5000,
                                             random_state=seed))


def svm_rbf(*, seed: int = 42, C: float = 1.0) -> Pipeline:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC

    # Platt scaling fitted by an inner 3-fold split of the training rows only.
    return build_pipeline(CalibratedClassifierCV(SVC(kernel="rbf", C=C, gamma="scale", random_state=seed),
                                                 method="sigmoid", cv=3))


def xgboost(*, seed: int = 42, max_depth: int = 3) -> Pipeline:
    try:
        from xgboost import XGBClassifier
    except ImportError as exc:
        raise MissingDependencyError("model 5beta-xgb needs xgboost: pip install xgboost") from exc
    return build_pipeline(XGBClassifier(n_estimators=150, max_depth=max_depth, learning_rate=0.1, subsample=0.8,
                                        colsample_bytree=0.8, n_jobs=1, random_state=seed, eval_metric="logloss",
                                        verbosity=0))


def lightgbm(*, seed: int = 42, num_leaves: int = 7) -> Pipeline:
    try:
        from lightgbm import LGBMClassifier
    except ImportError as exc:
        raise MissingDependencyError("model 5beta-lgbm needs lightgbm: pip install lightgbm") from exc
    return build_pipeline(LGBMClassifier(n_estimators=150, num_leaves=num_leaves, learning_rate=0.05,
                                         min_child_samples=5, subsample=0.8, subsample_freq=1, colsample_bytree=0.8,
                                         n_jobs=1, random_state=seed, verbose=-1))


def catboost(*, seed: int = 42, depth: int = 4) -> Pipeline:
    try:
        from catboost import CatBoostClassifier
    except ImportError as exc:
        raise MissingDependencyError("model 5beta-cat needs catboost: pip install catboost") from exc
    return build_pipeline(CatBoostClassifier(iterations=150, depth=depth, learning_rate=0.1, random_seed=seed,
                                             verbose=0, thread_count=1, allow_writing_files=False))


def _grid(**grid: list[Any]) -> dict[str, dict[str, Any]]:
    return {"full": {"model": {}, "grid": {f"clf__{k}": v for k, v in grid.items()}}}


_ENTRIES = [
    ModelEntry("5a", "logreg", "features", logreg, _grid(C=[0.01, 0.1, 1.0]), STAGE2,
               "Logistic regression (L2) on stage-2 handcrafted features", paper="Cox 1958", year=1958),
    ModelEntry("5alpha", "elasticnet", "features", elasticnet, _grid(C=[0.1, 1.0], l1_ratio=[0.2, 0.8]), STAGE24,
               "Elastic-net logistic regression on stage-2 and stage-4 (scaled) features",
               paper="Zou & Hastie 2005", year=2005),
    ModelEntry("5b", "svm-rbf", "features", svm_rbf, _grid(estimator__C=[0.3, 1.0, 3.0]), STAGE2,
               "RBF SVM with sigmoid-calibrated probabilities", paper="Cortes & Vapnik 1995; Platt 1999",
               year=1995),
    ModelEntry("5beta-xgb", "xgboost", "features", xgboost, _grid(max_depth=[2, 3]), STAGE2,
               "XGBoost gradient-boosted trees", paper="Chen & Guestrin 2016", year=2016, aliases=("5beta",),
               importance="native"),
    ModelEntry("5beta-lgbm", "lightgbm", "features", lightgbm, _grid(num_leaves=[4, 7]), STAGE2,
               "LightGBM gradient-boosted trees", paper="Ke et al. 2017", year=2017, importance="native"),
    ModelEntry("5beta-cat", "catboost", "features", catboost, _grid(depth=[3, 4]), STAGE2,
               "CatBoost gradient-boosted trees", paper="Prokhorenkova et al. 2018", year=2018, importance="native"),
]
for _entry in _ENTRIES:
    register_model(_entry)
