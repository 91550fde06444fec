"""--executor ray: the per-video stages and a feature model's CV as Ray tasks on a local Ray
(num_cpus=2) give the tables, cross-validation and MLflow runs of a plain local `fvc run`."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from _orchestration import assert_same_cv, assert_same_tables, mlflow_tree, plain_run
from test_run import corpus, small_workspace

from fvc.config import FvcConfig
from fvc.experiment import default_run_config
from fvc.pipeline import RunOptions, run_pipeline
from fvc.stages import Stage, run_stage, use_executor
from fvc.workspace import Workspace


@pytest.fixture(scope="module")
def ray_local():
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    import sys

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the toy row functions below
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_stages_and_feature_cv_match_a_local_run(tmp_path, ray_local):
    from fvc.orchestration.ray_executor import RayExecutor

    src = corpus(tmp_path / "corpus")
    want = plain_run(tmp_path / "plain", src, models="5a")
    ws, cfg = small_workspace(tmp_path / "ws")
    executor = RayExecutor()
    report = run_pipeline(ws, cfg, RunOptions(archives=src, models="5a", executor=executor))
    assert report.error is None, report.error
    assert executor.rows_sent >= 8 + 8 + 16 + 16  # augment, features2, scale, features4 went to Ray
    assert_same_tables(ws, want)
    assert_same_cv(ws, want, "5a")
    grid = len(default_run_config("5a").grid["clf__C"])
    assert mlflow_tree(ws)["5a"] == {"parents": 1, "folds": {0: grid, 1: grid}, "orphans": 0}


def _crash_on_b(row):
    if row["video_id"] == "b":
        os._exit(3)  # a native crash in a decoder, as far as the executor can tell
    return {"video_id": row["video_id"], "value": len(row["video_id"])}


def test_a_dead_worker_is_its_videos_error_row(tmp_path, ray_local):
    from fvc.orchestration.ray_executor import RayExecutor

    ws = Workspace(tmp_path / "ws").ensure()
    stage = Stage("toy", output="toy", per_video=True)
    rows = [{"video_id": v} for v in ("a", "b", "cc")]
    with use_executor(RayExecutor()):
        table, summary = run_stage(ws, stage, FvcConfig(), rows, _crash_on_b)
    assert table["video_id"].tolist() == ["a", "b", "cc"]  # input order, whoever finished first
    assert table["value"].tolist()[::2] == [1, 2] and pd.isna(table["value"][1])
    assert "worker process died" in table["error"][1] and table["error"][::2].isna().all()
    assert summary.done == 2 and summary.failed == 1


def test_unknown_executor_or_stray_address_is_one_line(tmp_path, fvc):
    code, _, err = fvc("run", "-w", str(tmp_path / "ws"), "--executor", "spark")
    assert code == 2 and "unknown executor 'spark'" in err and "Traceback" not in err
    code, _, err = fvc("train", "-w", str(tmp_path / "ws"), "-m", "5a", "--address", "auto")
    assert code == 2 and "--address" in err and "--executor ray" in err


def test_deep_smoke_cv_matches_a_local_run(tmp_path, ray_local):
    """A deep model's folds as Ray tasks: the same OOF predictions and metrics as the local loop, and the
    epochs its folds trained replayed to the observers as if they had trained here."""
    from _deep_fixtures import make_scaled_workspace

    from fvc.experiment import RunConfig, run_experiment
    from fvc.orchestration.ray_executor import RayExecutor
    from fvc.training.events import RecordingObserver

    rc = RunConfig(model="5c", preset="smoke", folds=[0, 1], seed=7)
    local_ws = make_scaled_workspace(tmp_path / "local", per_class=4, folds=2)
    ray_ws = make_scaled_workspace(tmp_path / "ray", per_class=4, folds=2)
    here, there = RecordingObserver(), RecordingObserver()
    want = run_experiment(local_ws, FvcConfig(), rc, [here])
    got = RayExecutor().train(ray_ws, FvcConfig(), [rc], [there])[0]
    assert there.names() == here.names()  # fold epochs replayed in place, the final refit's live
    epochs = lambda obs: [(e["fold"], e["epoch"]) for n, e in obs.events if n == "epoch_end"]  # noqa: E731
    assert epochs(there) == epochs(here)
    pd.testing.assert_frame_equal(got.oof.reset_index(drop=True), want.oof.reset_index(drop=True), check_exact=True)
    pd.testing.assert_series_equal(pd.Series(got.mean), pd.Series(want.mean), check_exact=True)
