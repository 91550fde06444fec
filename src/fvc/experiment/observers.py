"""The observers a training run reports to: the console always, the JSONL log and MLflow unless turned off."""

from __future__ import annotations

from typing import Any

from ..tracking.jsonl_log import JsonlObserver
from ..tracking.mlflow_observer import MlflowObserver
from ..training.events import ConsoleObserver, TrainObserver
from ..workspace import Workspace


def build_observers(ws: Workspace, *, tracking: bool = True, tracking_uri: str | None = None,
                    console: Any = None) -> list[TrainObserver]:
    con = ConsoleObserver(console)
    out: list[TrainObserver] = [con]
    if tracking:
        say = lambda line: con.console.print(line, markup=False, highlight=False, soft_wrap=True)  # noqa: E731
        out += [JsonlObserver(ws), MlflowObserver(ws, tracking_uri=tracking_uri, say=say)]
    return out
