"""The observers a training run reports to: the console always, the JSONL log and MLflow unless turned off."""

from __future__ import annotations

from typing import Any

from ..tracking.jsonl_log import JsonlObserver
from ..tracking.mlflow_observer import MlflowObserver
from ..training.events import ConsoleObserver, TrainObserver
from ..workspace import Workspace


def build_observers(ws: Workspace, *, tracking: bool = True, tracking_uri: str | None = None,
                    console: Any = None) -> list[TrainObserver]:
    out: list[TrainObserver] = [ConsoleObserver(console)]
    if tracking:
        out += [JsonlObserver(ws), MlflowObserver(ws, tracking_uri=tracking_uri)]
    return out
