"""The pipeline as an Airflow 3 DAG, generated from the declared stage graph.

One task per stage of :data:`fvc.pipeline.GRAPH`, wired by the tables each
stage reads; the train stage fans out as a dynamic task mapping over (model,
fold) cells (:mod:`.fold_grid`) and gathers them in one task, so MLflow gets
one parent run per model. The workspace, config overrides (dotted keys, as
``fvc run`` options), models and archives folder are DAG params; the archive
password comes from ``$FVC_ARCHIVE_PASSWORD`` on the worker, never a param.

Put a file like this in the dags folder::

    from fvc.orchestration.airflow_dag import build_dag
    dag = build_dag()

Each task does what ``fvc run --from S --to S`` does (skip when up to date,
resume finished rows), so a retried or re-run task redoes only what is left.
Bad input fails the task at once; anything else is retried with back-off.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

try:
    from airflow.sdk import DAG, Param, TriggerRule, task
    from airflow.sdk.exceptions import AirflowFailException
except ImportError as exc:  # pragma: no cover - exercised without the extra
    from ..errors import FvcError

    raise FvcError("the Airflow DAG needs Apache Airflow 3: pip install fvc-detect[airflow]") from exc

from ..config import ENV_PASSWORD, FvcConfig, load_config, save_config, with_options
from ..errors import InputError
from ..pipeline import GRAPH, TRAIN, RunOptions, run_pipeline, train_configs
from ..stages import default_workers, upstream
from ..workspace import Workspace
from . import fold_grid

DAG_ID = "fvc_pipeline"
RETRIES = 2
RETRY_DELAY = timedelta(seconds=30)
BACKOFF = 2.0  # each retry waits twice as long as the one before
MAX_RETRY_DELAY = timedelta(minutes=30)


@contextlib.contextmanager
def _workspace(params: dict[str, Any], lock: bool) -> Iterator[tuple[Workspace, FvcConfig]]:
    """The workspace and its config with the DAG's overrides; with ``lock``, held (waiting for another
    holder) and the overrides saved to fvc.yaml, as ``fvc run`` does. Bad input fails the task at once,
    with no retry; anything else (a full disk, a crash) is retried, and the retry resumes."""
    ws = Workspace.resolve(params["workspace"]).ensure()
    try:
        with ws.lock(f"airflow {DAG_ID}", wait=True) if lock else contextlib.nullcontext():
            cfg = load_config(ws)
            changed = with_options(cfg, dict(params.get("config") or {}))
            if lock and (changed != cfg or not ws.config_path.exists()):
                save_config(ws, changed)
            yield ws, changed
    except InputError as exc:
        raise AirflowFailException(str(exc)) from exc


def _options(params: dict[str, Any]) -> RunOptions:
    archives = params.get("archives")
    return RunOptions(archives=Path(archives).expanduser() if archives else None,
                      password=os.environ.get(ENV_PASSWORD), models=params.get("models") or "all",
                      tracking=bool(params.get("tracking", True)),
                      workers=int(params.get("workers") or default_workers()))


def run_stage_task(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """What ``fvc run --from NAME --to NAME`` does; its summary row."""
    with _workspace(params, lock=True) as (ws, cfg):
        report = run_pipeline(ws, cfg, _options(params), name, name)
        if report.failure is not None:
            raise report.failure
    return next(r for r in report.rows() if r["stage"] == name)


def plan_cells(params: dict[str, Any]) -> list[dict[str, Any]]:
    """The (model, fold) cells of the models whose results are missing or stale."""
    with _workspace(params, lock=True) as (ws, cfg):
        rcs = train_configs(ws, _options(params).models)[0]
        return [c.as_dict() for c in fold_grid.plan(ws, rcs)]


def run_cell_task(cell: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """One fold, lock-free: it writes only its own fold folder (predictions, record, its fit's events)."""
    with _workspace(params, lock=False) as (ws, cfg):
        fold_grid.run_cell(ws, cfg, cell)
    return {"model": cell["model"], "fold": cell["fold"]}


def gather_task(cells: list[dict[str, Any]], done: list[dict[str, Any]], params: dict[str, Any]) -> list[dict]:
    """``run_experiment`` per model over its computed folds: metrics.json, the final model, MLflow.

    Each fold's grid points and epochs come from the events saved with it, so a fold task that was retried,
    or found its fold already done, still has them logged once."""
    from ..experiment.observers import build_observers

    rcs = list({c["model"]: fold_grid.Cell(**c).rc() for c in cells}.values())
    with _workspace(params, lock=True) as (ws, cfg):
        observers = build_observers(ws, tracking=_options(params).tracking)
        results = fold_grid.gather(ws, cfg, rcs, observers)
    return [{"model": r.model_id, "roc_auc": r.mean.get("roc_auc")} for r in results]


def build_dag(dag_id: str = DAG_ID, workspace: str | None = None) -> DAG:
    """The DAG: one task per declared stage in graph order, training mapped over (model, fold)."""
    params = {
        "workspace": Param(workspace or os.environ.get("FVC_WORKSPACE", "fvc-workspace"), type="string",
                           description="Workspace folder (shared by every worker)."),
        "config": Param({}, type="object", description="fvc.yaml overrides, e.g. {\"augment.per_video\": 2}."),
        "models": Param("all", type="string", description="Models to train, as fvc run --models."),
        "archives": Param(None, type=["null", "string"], description="Archives folder for stage setup."),
        "workers": Param(None, type=["null", "integer"], description="Worker processes per stage task."),
        "tracking": Param(True, type="boolean", description="Log training to MLflow."),
    }
    default_args = {"retries": RETRIES, "retry_delay": RETRY_DELAY, "retry_exponential_backoff": BACKOFF,
                    "max_retry_delay": MAX_RETRY_DELAY}
    with DAG(dag_id, schedule=None, catchup=False, params=params, default_args=default_args,
             doc_md=__doc__, tags=["fvc"]) as dag:
        ends: dict[str, Any] = {}
        starts: dict[str, Any] = {}
        for stage in GRAPH:
            if stage is TRAIN:
                cells = task(task_id="train_plan")(_plan)()
                done = task(task_id="train_fold")(_cell).expand(cell=cells)
                end = task(task_id="train", trigger_rule=TriggerRule.NONE_FAILED)(_gather)(cells, done)
                starts[stage.name], ends[stage.name] = cells, end
            else:
                starts[stage.name] = ends[stage.name] = task(task_id=stage.name)(_stage)(stage.name)
            for up in upstream(list(GRAPH), stage.name):
                ends[up] >> starts[stage.name]
    return dag


# Task callables: Airflow passes the run's params through the context.
def _params() -> dict[str, Any]:
    from airflow.sdk import get_current_context

    return dict(get_current_context()["params"])


def _stage(name: str) -> dict[str, Any]:
    return run_stage_task(name, _params())


def _plan() -> list[dict[str, Any]]:
    return plan_cells(_params())


def _cell(cell: dict[str, Any]) -> dict[str, Any]:
    return run_cell_task(cell, _params())


def _gather(cells: list[dict[str, Any]], done: Any) -> list[dict]:
    return gather_task(list(cells or []), list(done or []), _params())
