"""Finished folds are reused under a run key; for feature models the key covers the built estimator too.

The run config names the preset and the grid, not a builder's defaults (trees, regularisation, a filter
threshold): without the estimator in the key, a changed default would silently reuse predictions made
under the old one, and executors in other processes must compute the same key to find each other's folds.
"""

import subprocess
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression

from fvc.config import stable_hash
from fvc.experiment.feature_adapter import estimator_params
from fvc.experiment.result_files import read_oof
from fvc.models.feature_zoo import lightgbm
from fvc.training.preprocess import build_pipeline

from test_cv import _run, make_ws, register_test_model


def _oof(ws, model_id):
    return read_oof(ws, model_id).sort_values("video_id")["prob"].to_numpy()


def test_a_changed_builder_default_refits_the_folds(tmp_path, monkeypatch):
    data = dict(n=40, signal=1.0, seed=3)
    ws = make_ws(tmp_path / "ws", **data)
    register_test_model(monkeypatch, "lr", lambda *, seed: build_pipeline(LogisticRegression(C=1e-3)))
    _run(ws, model="lr", grid={})
    old = _oof(ws, "lr")
    # the same run config, the builder's default changed: every fold must be the new model's
    register_test_model(monkeypatch, "lr", lambda *, seed: build_pipeline(LogisticRegression(C=100.0)))
    _run(ws, model="lr", grid={})
    fresh = make_ws(tmp_path / "fresh", **data)  # the new default on a workspace with no cached folds
    _run(fresh, model="lr", grid={})
    assert not np.allclose(_oof(fresh, "lr"), old)  # the two defaults do predict differently here
    np.testing.assert_allclose(_oof(ws, "lr"), _oof(fresh, "lr"))


# a function as a parameter: its repr holds a memory address
SELECTING = "build_pipeline(LogisticRegression(), [('select', SelectKBest(f_classif, k=3))])"
BUILD = {"lightgbm": "z.lightgbm(seed=7)", "catboost": "z.catboost(seed=7)", "svm_rbf": "z.svm_rbf(seed=7)",
         "selecting": SELECTING}
IMPORTS = ("from fvc.models import feature_zoo as z; from fvc.training.preprocess import build_pipeline; "
           "from sklearn.feature_selection import SelectKBest, f_classif; "
           "from sklearn.linear_model import LogisticRegression; ")


def test_the_key_is_the_same_in_another_process():
    """Ray, Airflow and SLURM cells compute folds in other processes; the gathering run must find them."""
    ns: dict = {}
    exec(IMPORTS, ns)
    here = [stable_hash(estimator_params(eval(expr, ns))) for expr in BUILD.values()]
    code = ("from fvc.config import stable_hash; from fvc.experiment.feature_adapter import estimator_params; "
            + IMPORTS + f"print(','.join(stable_hash(estimator_params(eval(e))) for e in {list(BUILD.values())!r}))")
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(",")
    assert [h.strip() for h in there] == here
    # and it does tell estimators apart: another default is another key
    assert stable_hash(estimator_params(lightgbm(seed=7, num_leaves=4))) != here[0]
    assert len(set(here)) == len(here)
