"""Feature models 5a, 5alpha, 5b and 5beta: scikit-learn-style estimators on stage-2/4 features.

Each is the shared preprocessing Pipeline plus one estimator and a small
default grid (small enough that the demo trains all of them in minutes on two
cores); the grouped CV loop is shared (``fvc.training.cv``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError, MissingDependencyError
from ..training.cv import run_feature_cv
from ..training.preprocess import build_pipeline
from .registry import ModelSpec, register


@dataclass
class FeatureModel:
    """A final feature model as saved to results/<id>/model.joblib."""

    model_id: str
    pipeline: Any
    columns: list[str]
    stages: list[int]
    config_hash: str

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """P(fake) for rows of a features table (stage-4 columns prefixed ``s4_``)."""
        missing = [c for c in self.columns if c not in features.columns]
        if missing:
            raise InputError("features", f"model {self.model_id} needs columns missing here: {missing[:5]}")
        return self.pipeline.predict_proba(features[self.columns].astype("float64"))[:, 1]


def _logreg(seed: int, elastic: bool = False):
    from sklearn.linear_model import LogisticRegression

    if elastic:
        return LogisticRegression(solver="saga", l1_ratio=0.5, C=1.0, max_iter=5000, random_state=seed)
    return LogisticRegression(C=1.0, max_iter=2000, random_state=seed)


def _svm(seed: int):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC

    # Platt scaling fitted by an inner 3-fold split of the training rows only.
    return CalibratedClassifierCV(SVC(kernel="rbf", C=1.0, gamma="scale", random_state=seed),
                                  method="sigmoid", cv=3)


def _xgb(seed: int):
    try:
        from xgboost import XGBClassifier
    except ImportError as exc:
        raise MissingDependencyError("model 5beta-xgb needs xgboost: pip install xgboost") from exc
    return XGBClassifier(n_estimators=150, max_depth=3, learning_rate=0.1, subsample=0.8, colsample_bytree=0.8,
                         n_jobs=1, random_state=seed, eval_metric="logloss", verbosity=0)


def _lgbm(seed: int):
    try:
        from lightgbm import LGBMClassifier
    except ImportError as exc:
        raise MissingDependencyError("model 5beta-lgbm needs lightgbm: pip install lightgbm") from exc
    return LGBMClassifier(n_estimators=150, num_leaves=7, learning_rate=0.05, min_child_samples=5,
                          subsample=0.8, subsample_freq=1, colsample_bytree=0.8, n_jobs=1, random_state=seed,
                          verbose=-1)


def _cat(seed: int):
    try:
        from catboost import CatBoostClassifier
    except ImportError as exc:
        raise MissingDependencyError("model 5beta-cat needs catboost: pip install catboost") from exc
    return CatBoostClassifier(iterations=150, depth=4, learning_rate=0.1, random_seed=seed, verbose=0,
                              thread_count=1, allow_writing_files=False)


def _runner(builder: Callable[[int], Any], importance: str) -> Callable:
    def run_cv(ctx):
        est = build_pipeline(builder(ctx.run_config.seed))
        return run_feature_cv(ctx, est, importance=importance)

    return run_cv


_MODELS: list[dict[str, Any]] = [
    dict(id="5a", name="logreg", builder=_logreg, importance="permutation", stages=(2,),
         inputs="stage-2 features", description="Logistic regression (L2) on stage-2 handcrafted features",
         grid={"clf__C": [0.01, 0.1, 1.0]}),
    dict(id="5alpha", name="elasticnet", builder=lambda s: _logreg(s, elastic=True), importance="permutation",
         stages=(2, 4), inputs="stage-2 + stage-4 features",
         description="Elastic-net logistic regression on stage-2 and stage-4 (scaled) features",
         grid={"clf__C": [0.1, 1.0], "clf__l1_ratio": [0.2, 0.8]}),
    dict(id="5b", name="svm-rbf", builder=_svm, importance="permutation", stages=(2,),
         inputs="stage-2 features", description="RBF SVM with sigmoid-calibrated probabilities",
         grid={"clf__estimator__C": [0.3, 1.0, 3.0]}),
    dict(id="5beta-xgb", name="xgboost", builder=_xgb, importance="native", stages=(2,),
         inputs="stage-2 features", description="XGBoost gradient-boosted trees", grid={"clf__max_depth": [2, 3]}),
    dict(id="5beta-lgbm", name="lightgbm", builder=_lgbm, importance="native", stages=(2,),
         inputs="stage-2 features", description="LightGBM gradient-boosted trees",
         grid={"clf__num_leaves": [4, 7]}),
    dict(id="5beta-cat", name="catboost", builder=_cat, importance="native", stages=(2,),
         inputs="stage-2 features", description="CatBoost gradient-boosted trees", grid={"clf__depth": [3, 4]}),
]

for _m in _MODELS:
    register(ModelSpec(id=_m["id"], name=_m["name"], family="features", inputs=_m["inputs"],
                       description=_m["description"], run_cv=_runner(_m["builder"], _m["importance"]),
                       feature_stages=_m["stages"], default_grid=_m["grid"],
                       aliases=("5beta",) if _m["id"] == "5beta-xgb" else ()))

