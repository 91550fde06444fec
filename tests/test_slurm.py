"""fvc slurm: the sbatch scripts (content, the afterok chain along the graph's edges), and the scripts
run one after another with bash, array tasks by SLURM_ARRAY_TASK_ID, doing the work of `fvc run`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from _orchestration import assert_same_cv, assert_same_tables, mlflow_tree, plain_run
from test_run import corpus, small_workspace

from fvc.experiment import default_run_config
from fvc.orchestration.slurm import SlurmOptions, write_scripts
from fvc.pipeline import GRAPH, status_rows, upstream


def _chain(submit: str) -> dict[str, list[str]]:
    """script -> the scripts whose jobs it waits for (afterok), read back from submit.sh."""
    job_of, deps = {}, {}
    for line in submit.splitlines():
        m = re.match(r"(J\d+)=\$\(sbatch --parsable(?: --dependency=afterok:(\S+))? (\S+)\)", line)
        if m:
            job, after, file = m.groups()
            job_of[job] = file
            deps[file] = [job_of[j.lstrip("$")] for j in after.split(":")] if after else []
    return deps


def test_scripts_and_their_chain(tmp_path):
    ws, cfg = small_workspace(tmp_path / "ws")
    opts = SlurmOptions(partition="gpu", gpus_per_task=2, cpus_per_task=3, array_parallelism=2, time="01:00:00",
                        models="5a,5c", archives=tmp_path / "corpus")
    paths = write_scripts(ws, cfg, opts)
    names = [p.name for p in paths]
    stages = [s.name for s in GRAPH if s.name != "train"]
    assert names == [f"{i:02d}-{s}.sbatch" for i, s in enumerate(stages)] + \
        ["07-train-folds.sbatch", "08-train-folds-gpu.sbatch", "09-train.sbatch"]
    text = {p.name: p.read_text() for p in paths}
    logs = str(ws.root / "slurm" / "logs")
    for name, body in text.items():
        assert "#SBATCH --partition=gpu" in body and "#SBATCH --requeue" in body and "--time=01:00:00" in body
        assert f"#SBATCH --output={logs}/" in body and "--open-mode=append" in body and "set -euo pipefail" in body
        assert "FVC_ARCHIVE_PASSWORD" not in body and "fvc-synth" not in body  # no secret in a script
    assert f'--archives {tmp_path / "corpus"}' in text["00-setup.sbatch"]
    assert '--from features2 --to features2' in text["04-features2.sbatch"]
    cpu, gpu = text["07-train-folds.sbatch"], text["08-train-folds-gpu.sbatch"]
    assert "#SBATCH --array=0-1%2" in cpu and "--gpus-per-task" not in cpu and "torchrun" not in cpu
    assert "#SBATCH --array=0-1%2" in gpu and "#SBATCH --gpus-per-task=2" in gpu
    assert 'srun "$(dirname "$FVC")/torchrun" --standalone --nproc_per_node=2 -m fvc.cli slurm' in gpu
    assert '--index "$SLURM_ARRAY_TASK_ID"' in gpu and "%A_%a.out" in gpu

    chain = _chain((ws.root / "slurm" / "submit.sh").read_text())
    by_stage = {n.split("-", 1)[1].rsplit(".", 1)[0]: n for n in names}
    for s in stages:  # each stage job waits for the jobs writing the tables it reads
        assert sorted(chain[by_stage[s]]) == sorted(by_stage[u] for u in upstream(list(GRAPH), s))
    train_inputs = sorted(by_stage[u] for u in upstream(list(GRAPH), "train"))
    assert sorted(chain["07-train-folds.sbatch"]) == train_inputs == sorted(chain["08-train-folds-gpu.sbatch"])
    assert sorted(chain["09-train.sbatch"]) == ["07-train-folds.sbatch", "08-train-folds-gpu.sbatch"]


def test_no_archives_and_no_videos_table_is_one_line(tmp_path, fvc):
    ws, _ = small_workspace(tmp_path / "ws")
    code, _, err = fvc("slurm", "-w", str(ws.root), "--partition", "p")
    assert code == 2 and "--archives" in err and "Traceback" not in err


@pytest.mark.slow
def test_scripts_run_with_bash_do_the_work_of_fvc_run(tmp_path):
    src = corpus(tmp_path / "corpus")
    want = plain_run(tmp_path / "plain", src, models="5a")
    ws, cfg = small_workspace(tmp_path / "ws")
    paths = write_scripts(ws, cfg, SlurmOptions(partition="p", models="5a", archives=src))
    env = {**os.environ, "FVC": str(Path(sys.executable).with_name("fvc")), "SLURM_CPUS_PER_TASK": "1",
           "PYTHONPATH": os.pathsep.join([p for p in sys.path if p.endswith("src")][:1] +
                                         [os.environ.get("PYTHONPATH", "")])}
    for path in paths:  # in submission order, which respects every afterok edge
        body = path.read_text()
        m = re.search(r"#SBATCH --array=0-(\d+)", body)
        for task in range(int(m.group(1)) + 1) if m else [None]:
            run_env = env if task is None else {**env, "SLURM_ARRAY_TASK_ID": str(task)}
            out = subprocess.run(["bash", str(path)], env=run_env, capture_output=True, text=True, timeout=600)
            assert out.returncode == 0, f"{path.name} [{task}]: {(out.stdout + out.stderr)[-3000:]}"
    assert_same_tables(ws, want)
    assert_same_cv(ws, want, "5a")
    grid = len(default_run_config("5a").grid["clf__C"])
    assert mlflow_tree(ws)["5a"] == {"parents": 1, "folds": {0: grid, 1: grid}, "orphans": 0}
    assert {r["stage"]: r["status"] for r in status_rows(ws, cfg, "5a")} == {s.name: "up to date" for s in GRAPH}

    # a requeued fold task and gather job find their work done: nothing changes, nothing is logged twice
    for path, task in ((paths[-2], "0"), (paths[-1], None)):
        run_env = env if task is None else {**env, "SLURM_ARRAY_TASK_ID": task}
        out = subprocess.run(["bash", str(path)], env=run_env, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    assert_same_cv(ws, want, "5a")
    assert mlflow_tree(ws)["5a"] == {"parents": 1, "folds": {0: grid, 1: grid}, "orphans": 0}
