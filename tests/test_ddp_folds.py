"""One deep (model, fold) cell trained by two processes (DDP, gloo on CPU): launched by the SLURM GPU array's
own script (``srun torchrun``, srun standing in as a plain exec) and by Ray Train's TorchTrainer.

Both write the fold once, on rank 0, where the gather reuses it, and, with the same world size, backend and
seed, give bit-identical out-of-fold predictions and epoch metrics. The two runs read copies of one generated
workspace: the fixture's x264 encode is not byte-stable from one generation to the next, so two generated
workspaces can hold slightly different pixels.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from _deep_fixtures import make_scaled_workspace

from fvc.config import FvcConfig
from fvc.errors import InputError
from fvc.experiment import RunConfig
from fvc.experiment.fold_events import FOLD_EVENTS
from fvc.orchestration import fold_grid
from fvc.orchestration.slurm import SlurmOptions, slurm_dir, write_scripts
from fvc.workspace import Workspace

RC = RunConfig(model="5c", preset="smoke", folds=[0], seed=7, refit_final=False)
CELL = fold_grid.Cell("5c", 0, RC.model_dump(mode="json"))


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ddp-folds")
    make_scaled_workspace(root / "data", per_class=4, folds=2)
    return root


def _copy(base: Path, name: str) -> Workspace:
    shutil.copytree(base / "data", base / name)
    return Workspace(base / name)


def _fold(ws: Workspace) -> tuple[pd.DataFrame, list[dict]]:
    (fold_dir,) = ws.artifacts_dir.glob("cv/5c/*/fold-0")
    return pd.read_parquet(fold_dir / "oof.parquet"), json.loads((fold_dir / FOLD_EVENTS).read_text())


@pytest.fixture(scope="module")
def torchrun_fold(base):
    """The GPU array's script, task 0, with 2 processes per task: as SLURM would run it, less srun itself."""
    ws = _copy(base, "torchrun")
    scripts = write_scripts(ws, FvcConfig(), SlurmOptions(partition="gpu", gpus_per_task=2, models="5c",
                                                          archives=base / "archives"))
    (script,) = [p for p in scripts if p.name.endswith("-train-folds-gpu.sbatch")]
    cells = slurm_dir(ws) / "train-folds-gpu.cells.json"
    cells.write_text(json.dumps([CELL.as_dict()]))  # the smoke preset's fold 0, not the catalog's full one
    fake = base / "bin"
    fake.mkdir()
    (fake / "srun").write_text('#!/bin/sh\nexec "$@"\n')  # one task per node: srun starts the command once
    (fake / "srun").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}", "SLURM_ARRAY_TASK_ID": "0",
           "FVC": str(Path(sys.executable).with_name("fvc")), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([p for p in sys.path if p.endswith("src")][:1] +
                                         [os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=400)
    assert out.returncode == 0, out.stderr[-4000:]
    return ws, out


def test_torchrun_under_the_slurm_script_trains_the_fold_once(torchrun_fold):
    ws, out = torchrun_fold
    assert out.stderr.count("fold 0 of 5c done") == 1  # rank 0 reports; rank 1 returned cleanly
    oof, events = _fold(ws)
    test_videos = ws.read("scaled").query("fold == 0")["video_id"]
    assert sorted(oof["video_id"]) == sorted(test_videos)  # every video of the test fold, once, no other
    assert oof["prob"].between(0, 1).all() and oof["prob"].map(math.isfinite).all()
    assert [(e["event"], e["fold"], e["epoch"]) for e in events] == [("epoch_end", 0, 0)]  # the epoch, once
    assert math.isfinite(events[0]["metrics"]["train_loss"])


@pytest.mark.slow
def test_ray_train_with_two_workers_gives_the_torchrun_fold(base, torchrun_fold):
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    from fvc.orchestration.ray_executor import RayExecutor
    from fvc.orchestration.ray_train import train_cell
    from fvc.training.events import RecordingObserver

    ws = _copy(base, "ray")
    seen = RecordingObserver()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        (result,) = RayExecutor(ddp_workers=2).train(ws, FvcConfig(), [RC], [seen])
        # bad input in the workers: its one line, not the workers' tracebacks
        with pytest.raises(InputError, match="^--fold: fold 7 is not one that 5c runs$"):
            train_cell(ws, FvcConfig(), fold_grid.Cell("5c", 7, RC.model_dump(mode="json")), 2, False)
    finally:
        ray.shutdown()
    want_oof, want_events = _fold(torchrun_fold[0])
    got_oof, got_events = _fold(ws)
    pd.testing.assert_frame_equal(got_oof, want_oof, check_exact=True)  # same world, backend, seed: same bits
    assert got_events == want_events
    # the gather reused the fold and replayed its epoch, as if it had trained here
    assert [e for n, e in seen.events if n == "epoch_end"] == [
        {"fold": 0, "epoch": 0, "metrics": want_events[0]["metrics"]}]
    pd.testing.assert_frame_equal(result.oof.drop(columns="fold").reset_index(drop=True),
                                  want_oof.reset_index(drop=True), check_exact=True)
    assert (ws.cache_dir / "ray_train").is_dir()  # Ray Train's run folder stays in the workspace


def test_ddp_options_name_the_launcher_they_belong_to(tmp_path, fvc):
    code, _, err = fvc("train", "-w", str(tmp_path / "ws"), "-m", "5c", "--ddp-workers", "2")
    assert code == 2 and "--ddp-workers: is for --executor ray" in err and "Traceback" not in err
    code, _, err = fvc("train", "-w", str(tmp_path / "ws"), "-m", "5c", "--ddp", "--executor", "ray")
    assert code == 2 and "--ddp: is for processes torchrun started; with --executor ray use --ddp-workers N" in err
