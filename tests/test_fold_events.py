"""A reused fold logs its grid points again: a run resumed after a kill, or gathered after its folds were
computed by tasks that died before logging (a retried Airflow task, a requeued SLURM task), leaves the same
MLflow tree as an uninterrupted run: the same runs, names, params and metrics, none lost and none twice."""

from __future__ import annotations

import shutil

import pytest
from test_cv import make_ws

from fvc.config import FvcConfig
from fvc.experiment import RunConfig, run_experiment, run_experiment_fold
from fvc.experiment.observers import build_observers
from fvc.orchestration import fold_grid
from fvc.training.events import RecordingObserver, TrainObserver

RC = RunConfig(model="5a", grid={"clf__C": [0.1, 10.0]}, folds=[0, 1, 2], refit_final=False)
TIMINGS = ("seconds",)  # wall-clock metrics differ from run to run by nature


class Killed(BaseException):
    """Ctrl-C or a kill, as far as the loop can tell (not an Exception: nothing may swallow it)."""


class KillAfterFold(TrainObserver):
    def __init__(self, fold: int):
        self.fold = fold

    def on_fold_end(self, fold, metrics, artifacts):
        if fold == self.fold:
            raise Killed(f"killed after fold {fold}")


def mlflow_runs(ws, uri: str) -> dict:
    """The workspace's finished model run: {run name: (params, metrics, metric histories)} for it and every run
    under it, each of them finished and logged once."""
    from fvc.tracking.mlflow_store import WORKSPACE_TAG, open_store

    store = open_store(ws, uri)
    runs = store.client.search_runs([store.experiment_id], max_results=5000)
    runs = [r for r in runs if r.data.tags.get(WORKSPACE_TAG) == str(ws.root)]
    parents = [r for r in runs if r.data.tags.get("fvc.kind") == "model" and r.info.status == "FINISHED"]
    assert len(parents) == 1, [(r.info.run_name, r.info.status) for r in runs]
    keep, frontier = {parents[0].info.run_id}, [parents[0].info.run_id]
    while frontier:
        pid = frontier.pop()
        for r in runs:
            if r.data.tags.get("mlflow.parentRunId") == pid and r.info.run_id not in keep:
                keep.add(r.info.run_id)
                frontier.append(r.info.run_id)
    tree = {}
    for r in runs:
        if r.info.run_id not in keep:
            continue
        assert r.info.run_name not in tree, f"{r.info.run_name} logged twice"
        assert r.info.status == "FINISHED", (r.info.run_name, r.info.status)
        metrics = {k: v for k, v in r.data.metrics.items() if not any(t in k for t in TIMINGS)}
        history = {k: [(m.step, m.value) for m in store.client.get_metric_history(r.info.run_id, k)]
                   for k in sorted(metrics)}
        tree[r.info.run_name] = (dict(r.data.params), metrics, history)
    return tree


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The reference: one run straight through, tracked. One MLflow store for the module's workspaces (a new
    sqlite store costs seconds); each workspace's runs carry its path."""
    root = tmp_path_factory.mktemp("fold-events")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    make_ws(root / "data", n=40)
    straight = _copy(root, "straight")
    run_experiment(straight, FvcConfig(), RC, build_observers(straight, tracking_uri=uri))
    return root, uri, mlflow_runs(straight, uri)


def _copy(root, name):
    from fvc.workspace import Workspace

    shutil.copytree(root / "data", root / name)
    return Workspace(root / name)


def test_a_run_killed_after_a_fold_and_resumed_logs_the_same_tree(uninterrupted):
    root, uri, want = uninterrupted
    ws = _copy(root, "killed")
    with pytest.raises(Killed):
        run_experiment(ws, FvcConfig(), RC, build_observers(ws, tracking_uri=uri) + [KillAfterFold(1)])
    again = RecordingObserver()
    run_experiment(ws, FvcConfig(), RC, build_observers(ws, tracking_uri=uri) + [again])
    assert again.names().count("search_point") == 3 * 2  # folds 0 and 1 reused, their grid points replayed
    assert mlflow_runs(ws, uri) == want
    assert sum(1 for name in want if "-grid" in name) == 3 * 2


def test_folds_computed_by_tasks_that_died_before_logging_are_logged_by_the_gather(uninterrupted):
    """Fold tasks ran (some twice, as a retried task does); the gather alone talks to MLflow."""
    root, uri, want = uninterrupted
    ws = _copy(root, "tasks")
    for k in (0, 1, 2, 1):  # fold 1's task retried after it had saved its fold
        run_experiment_fold(ws, FvcConfig(), RC, k)
    cells = fold_grid.plan(ws, [RC])
    fold_grid.map_here(ws, FvcConfig(), cells)  # every cell, as a re-run Airflow DAG or SLURM array does
    fold_grid.gather(ws, FvcConfig(), [RC], build_observers(ws, tracking_uri=uri))
    assert mlflow_runs(ws, uri) == want
