"""The observers a training run reports to: the console always, the JSONL log and MLflow unless turned off."""

from __future__ import annotations

from typing import Any

from ..tracking.jsonl_log import JsonlObserver
from ..tracking.mlflow_observer import MlflowObserver
from ..training.events import ConsoleObserver, TrainObserver
from ..workspace import Workspace


def build_observers(ws: Workspace, *, tracking: bool = True, tracking_uri: str | None = None,
                    console: Any = None, holds_lock: bool = True) -> list[TrainObserver]:
    """With ``holds_lock`` (the caller holds the workspace lock, as ``fvc train`` and ``fvc run`` do),
    MLflow runs a killed process left ``RUNNING`` are marked ``KILLED`` first, and the console says so."""
    con = ConsoleObserver(console)
    out: list[TrainObserver] = [con]
    if tracking:
        say = lambda line: con.console.print(line, markup=False, highlight=False, soft_wrap=True)  # noqa: E731
        mlflow_observer = MlflowObserver(ws, tracking_uri=tracking_uri, say=say)
        if holds_lock:
            killed = mlflow_observer.close_orphans()
            if killed:
                say(f"marked {len(killed)} MLflow run(s) left RUNNING by a killed process as KILLED: "
                    + ", ".join(sorted(killed)))
        out += [JsonlObserver(ws), mlflow_observer]
    return out
