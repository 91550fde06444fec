"""A deep fold is a function of its data and its run seed only: not of the global random state
(numpy, python, torch) or the torch thread count the caller left behind.

Executors run a fold in whatever process has it (the local loop, a Ray worker, a SLURM array task),
each with its own history of draws and its own thread count (Ray sets OMP_NUM_THREADS=1 in workers);
the OOF probabilities and the weights must not depend on that.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from _deep_fixtures import make_scaled_workspace

from fvc.config import FvcConfig
from fvc.experiment import RunConfig, run_experiment
from fvc.workspace import Workspace


@pytest.fixture(scope="module")
def source_ws(tmp_path_factory) -> Path:
    return make_scaled_workspace(tmp_path_factory.mktemp("deep-rng") / "src", per_class=4, folds=2).root


def _weights(path: Path) -> dict[str, torch.Tensor]:
    state = torch.load(path, map_location="cpu", weights_only=False)
    return state["state_dict"] if "state_dict" in state else state["model"]


def _run(src: Path, dest: Path, disturb) -> tuple[np.ndarray, dict, dict]:
    """Fold 0 and the final refit of 5c (smoke) on a copy of ``src``, after ``disturb()``."""
    shutil.copytree(src, dest)
    n = torch.get_num_threads()
    disturb()
    try:
        res = run_experiment(Workspace(dest), FvcConfig(), RunConfig(model="5c", preset="smoke", folds=[0], seed=7))
    finally:
        torch.set_num_threads(n)
    fold_ckpt = sorted(dest.glob("**/fold-0/ckpt/epoch-*.pt"))[-1]
    return res.oof.sort_values("video_id")["prob"].to_numpy(), _weights(fold_ckpt), _weights(res.final_model_path)


def _quiet():
    np.random.seed(1)
    random.seed(1)
    torch.manual_seed(1)
    torch.set_num_threads(1)


def _busy():
    np.random.seed(2)
    np.random.rand(37)
    random.seed(2)
    random.random()
    torch.manual_seed(2)
    torch.rand(11)
    torch.set_num_threads(2)


def test_deep_fold_ignores_global_rng_state_and_thread_count(source_ws, tmp_path):
    p1, fold1, final1 = _run(source_ws, tmp_path / "a", _quiet)
    p2, fold2, final2 = _run(source_ws, tmp_path / "b", _busy)
    assert len(p1) == 4 and np.ptp(p1) > 0  # fold 0's videos, not a constant
    np.testing.assert_array_equal(p1, p2)
    for a, b in ((fold1, fold2), (final1, final2)):
        assert a.keys() == b.keys()
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=lambda m, k=k: f"{k}: {m}")
