"""`fvc slurm --submit` on a real single-node SLURM (`make test-slurm` starts one with
scripts/slurm_local.sh): the stage jobs, the 2-task training array and the gather job complete, chained by
afterok, and give the tables, cross-validation and MLflow runs of a plain `fvc run`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _orchestration import assert_same_cv, assert_same_tables, mlflow_tree, plain_run
from test_run import corpus, small_workspace

from fvc.experiment import default_run_config
from fvc.orchestration.slurm import SlurmOptions, slurm_dir, submit, write_scripts

pytestmark = pytest.mark.slurm


def _job_state(job: str) -> str:
    out = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True).stdout
    states = re.findall(r"JobState=(\w+)", out)  # one per array task
    return "RUNNING" if not states else ("COMPLETED" if set(states) == {"COMPLETED"} else
                                          next(s for s in states if s != "COMPLETED"))


def test_the_chain_runs_on_slurm(tmp_path, monkeypatch):
    assert shutil.which("sbatch") and os.environ.get("SLURM_CONF"), \
        "needs a SLURM: scripts/slurm_local.sh start, then SLURM_CONF=... (make test-slurm does both)"
    src = corpus(tmp_path / "corpus")
    want = plain_run(tmp_path / "plain", src, models="5a")
    ws, cfg = small_workspace(tmp_path / "ws")
    write_scripts(ws, cfg, SlurmOptions(partition=os.environ.get("FVC_SLURM_PARTITION", "debug"), cpus_per_task=1,
                                        models="5a", archives=src))
    monkeypatch.setenv("FVC", str(Path(sys.executable).with_name("fvc")))  # sbatch passes our environment on
    src_path = [p for p in sys.path if p.endswith("src")][:1]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(src_path + [os.environ.get("PYTHONPATH", "")]))
    t0 = time.monotonic()
    jobs = dict(line.split(" -> ") for line in submit(ws).strip().splitlines())
    assert "07-train-folds.sbatch" in jobs and "08-train.sbatch" in jobs
    states: dict[str, str] = {}
    while time.monotonic() - t0 < 900:
        states = {f: _job_state(j) for f, j in jobs.items()}
        if all(s not in ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING") for s in states.values()):
            break
        time.sleep(3)
    logs = "\n".join(p.read_text()[-1500:] for p in sorted((slurm_dir(ws) / "logs").glob("*.out")))
    assert set(states.values()) == {"COMPLETED"}, f"{states}\n{logs[-6000:]}"
    array_logs = list((slurm_dir(ws) / "logs").glob("fvc-train-folds-*_*.out"))
    assert len(array_logs) == 2  # one per array task: (5a, fold 0) and (5a, fold 1)
    print(f"SLURM chain: {time.monotonic() - t0:.0f} s")
    assert_same_tables(ws, want)
    assert_same_cv(ws, want, "5a")
    grid = len(default_run_config("5a").grid["clf__C"])
    assert mlflow_tree(ws)["5a"] == {"parents": 1, "folds": {0: grid, 1: grid}, "orphans": 0}
