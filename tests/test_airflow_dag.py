"""The Airflow DAG: generated from the stage graph, and one dag.test() run (Airflow's own in-process
runner, after `airflow db migrate` in a temporary AIRFLOW_HOME) gives the tables, cross-validation
and MLflow runs of a plain `fvc run`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from _orchestration import assert_same_cv, assert_same_tables, mlflow_tree, plain_run
from test_run import corpus, small_workspace

from fvc.experiment import default_run_config
from fvc.config import load_config
from fvc.pipeline import GRAPH, TRAIN, status_rows, upstream

DAG_FILE = "from fvc.orchestration.airflow_dag import build_dag\n\ndag = build_dag()\n"
RUNNER = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("fvc_dag", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
dag = mod.dag
shape = {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks}
retries = {t.task_id: [t.retries, float(t.retry_exponential_backoff)] for t in dag.tasks}
state = str(dag.test(run_conf=json.loads(sys.argv[2])).state) if len(sys.argv) > 2 else None
print("RESULT " + json.dumps({"shape": shape, "retries": retries, "params": sorted(dag.params), "state": state}))
"""


def _run_dag(tmp_path: Path, *conf: str, timeout: int = 120) -> dict:
    dags = tmp_path / "dags"
    dags.mkdir(exist_ok=True)
    (dags / "fvc_dag.py").write_text(DAG_FILE)
    (tmp_path / "runner.py").write_text(RUNNER)
    env = _airflow_env(tmp_path / "airflow", dags)
    if conf:
        mig = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True,
                             text=True, timeout=600)
        assert mig.returncode == 0, mig.stderr[-3000:]
    out = subprocess.run([sys.executable, str(tmp_path / "runner.py"), str(dags / "fvc_dag.py"), *conf],
                         env=env, capture_output=True, text=True, timeout=timeout)
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert out.returncode == 0 and line, (out.stdout + out.stderr)[-5000:]
    result = json.loads(line[len("RESULT "):])
    assert conf == () or result["state"] == "success", (out.stdout + out.stderr)[-5000:]
    return result


def test_dag_is_the_stage_graph(tmp_path):
    """One task per declared stage, wired by the tables each reads; training as plan -> mapped folds -> gather;
    every task retried with back-off; workspace and config as params."""
    result = _run_dag(tmp_path)
    shape = result["shape"]
    names = [s.name for s in GRAPH if s is not TRAIN]
    assert set(shape) == set(names) | {"train_plan", "train_fold", "train"}
    for name in names:
        assert shape[name] == sorted(upstream(list(GRAPH), name))
    assert shape["train_plan"] == sorted(upstream(list(GRAPH), "train"))
    assert shape["train_fold"] == ["train_plan"] and shape["train"] == ["train_fold", "train_plan"]
    assert all(r == [2, 2.0] for r in result["retries"].values())
    assert {"workspace", "config", "models", "archives"} <= set(result["params"])


def _airflow_env(home: Path, dags: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    path = [*[p for p in sys.path if p.endswith("src")][:1], env.get("PYTHONPATH", "")]
    env.update({"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(dags), "PYTHONPATH": ":".join(filter(None, path)),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "MLFLOW_DISABLE_TELEMETRY": "true"})
    return env


# about 80 s on 2 idle cores (db migrate, the plain run, the DAG run): in make test, as the issue asks
def test_dag_run_gives_the_results_of_fvc_run(tmp_path):
    src = corpus(tmp_path / "corpus")
    want = plain_run(tmp_path / "plain", src, models="5a")
    ws, _ = small_workspace(tmp_path / "ws")
    conf = {"workspace": str(ws.root), "archives": str(src), "models": "5a", "workers": 1}
    _run_dag(tmp_path, json.dumps(conf), timeout=900)

    assert_same_tables(ws, want)
    assert_same_cv(ws, want, "5a")
    grid = len(default_run_config("5a").grid["clf__C"])
    tree = mlflow_tree(ws)["5a"]
    assert tree == {"parents": 1, "folds": {0: grid, 1: grid}, "orphans": 0}
    cfg = load_config(ws)
    assert {r["stage"]: r["status"] for r in status_rows(ws, cfg, "5a")} == {s.name: "up to date" for s in GRAPH}
