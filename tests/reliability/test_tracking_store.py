"""The MLflow store under concurrency and kills, and tracking that leaves the user's folders alone."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_tracking import make_workspace

import fvc
from fvc.experiment import RunConfig
from fvc.experiment.observers import build_observers
from fvc.tracking.mlflow_observer import MlflowObserver
from fvc.tracking.mlflow_store import open_store

SRC = str(Path(fvc.__file__).resolve().parents[1])
OPEN_AT = """
import sys, time
from pathlib import Path
from fvc.tracking.mlflow_store import open_store
from fvc.workspace import Workspace
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # every process starts the migration together
store = open_store(Workspace(Path(sys.argv[1])))
print(store.experiment_id)
"""


def test_processes_creating_one_new_store_at_once_all_succeed(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    start = time.time() + 4.0  # time for every interpreter to import mlflow first
    env = dict(os.environ, PYTHONPATH=SRC)
    procs = [subprocess.Popen([sys.executable, "-c", OPEN_AT, str(ws), str(start)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(3)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err[-2000:] for _, err in outs]
    assert len({out.strip() for out, _ in outs}) == 1  # one experiment, not one each


def _abandon(ws, uri: str) -> MlflowObserver:
    """The MLflow state a ``kill -9`` during a fold leaves: a parent and a fold run ``RUNNING``."""
    obs = MlflowObserver(ws, tracking_uri=uri, register=False, export=False)
    obs.on_run_start("5a", RunConfig(model="5a"), "fp", {})
    obs.on_fold_start(0)
    return obs


def test_runs_a_killed_train_left_running_are_marked_killed(tmp_path, fvc):
    uri = f"sqlite:///{tmp_path / 'shared.db'}"
    ws, other = make_workspace(tmp_path / "ws"), make_workspace(tmp_path / "other")
    dead, live = _abandon(ws, uri), _abandon(other, uri)  # `other` may be training right now: not ours
    code, out, err = fvc("train", "-w", str(ws.root), "--model", "5a", "--tracking-uri", uri)
    assert code == 0, err
    client = dead.client
    for run_id in (dead.parent_id, dead.fold_runs[0]):
        assert client.get_run(run_id).info.status == "KILLED"
    for run_id in (live.parent_id, live.fold_runs[0]):
        assert client.get_run(run_id).info.status == "RUNNING"
    assert "marked 2 MLflow run(s) left RUNNING by a killed process as KILLED" in err
    new = [r for r in client.search_runs([dead.store.experiment_id]) if r.info.run_id not in
           (dead.parent_id, dead.fold_runs[0], live.parent_id, live.fold_runs[0])]
    assert new and {r.info.status for r in new} == {"FINISHED"}


def test_observers_of_a_caller_without_the_lock_touch_no_run(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    dead = _abandon(ws, uri)
    build_observers(ws, tracking_uri=uri, holds_lock=False)
    assert dead.client.get_run(dead.parent_id).info.status == "RUNNING"
    build_observers(ws, tracking_uri=uri)
    assert dead.client.get_run(dead.parent_id).info.status == "KILLED"


GIT_SPY = """#!/bin/sh
printf '%s\\t%s\\n' "$PWD" "$*" >> "{log}"
exec {git} "$@"
"""


def test_train_runs_git_only_read_only_and_never_in_the_users_folder(tmp_path):
    """A spy ``git`` first on PATH records every call (cwd, arguments) that training makes."""
    real_git = subprocess.run(["sh", "-c", "command -v git"], capture_output=True, text=True).stdout.strip()
    if not real_git:
        pytest.skip("git is not installed")
    bindir, log = tmp_path / "bin", tmp_path / "git-calls.log"
    bindir.mkdir()
    spy = bindir / "git"
    spy.write_text(GIT_SPY.format(log=log, git=real_git))
    spy.chmod(spy.stat().st_mode | stat.S_IXUSR)
    user = tmp_path / "user-project"  # the user's own repository, where they stand
    user.mkdir()
    subprocess.run([real_git, "init", "-q", str(user)], check=True)
    ws = make_workspace(tmp_path / "ws")
    env = dict(os.environ, PYTHONPATH=SRC, PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}")
    env.pop("MLFLOW_TRACKING_URI", None)
    argv = [sys.executable, "-c", "from fvc.cli import main; main()", "train", "-w", str(ws.root), "--model", "5a"]
    done = subprocess.run(argv, cwd=user, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    calls = [line.split("\t", 1) for line in log.read_text().splitlines()] if log.exists() else []
    # `git version` (GitPython's check of the binary, when MLflow loads it) reads no repository
    repo_calls = [(cwd, args) for cwd, args in calls if args != "version"]
    assert repo_calls, "training recorded no commit at all"
    assert not [c for c in repo_calls if Path(c[0]).resolve().is_relative_to(user.resolve())]
    assert all(args.startswith("--no-optional-locks") for _, args in repo_calls), repo_calls
    assert not (user / ".git" / "index").exists()  # nothing wrote the user's index
    assert open_store(ws).client.search_runs([open_store(ws).experiment_id])
