"""The events a fold's fit emitted, kept with the fold so that a reused fold reports them again.

A finished fold is never refitted: the loop reads back its predictions. Its
fit's events (grid points, epochs) would then be lost to a run that reuses
it: a run resumed after a kill, a retried Airflow task, a requeued SLURM
task, or the one process that gathers folds computed by Ray tasks or array
jobs. So the events are recorded as they pass to the observers, saved beside
the fold's predictions before the record that marks the fold done, and
replayed, in order, when the fold is reused. Every run then reports each of
its folds exactly as an uninterrupted run does: the same MLflow tree, with no
grid-point run lost or logged twice. A fold saved before events were kept
has no file and replays nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..training.events import TrainObserver
from ..workspace import atomic_write_text

FOLD_EVENTS = "events.json"
Events = list[dict[str, Any]]


def _plain(obj: Any) -> Any:
    """numpy scalars and arrays as Python values; NaN stays NaN (the observers get what they got live)."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


class FoldRecorder(TrainObserver):
    """Passes a fold fit's events on to ``inner`` and keeps a JSON copy of each."""

    def __init__(self, inner: TrainObserver):
        self.inner = inner
        self.events: Events = []

    def _keep(self, **event: Any) -> None:
        self.events.append(json.loads(json.dumps(event, default=_plain)))

    def on_search_point(self, fold, params, score):
        self._keep(event="search_point", fold=int(fold), params=dict(params), score=score)
        self.inner.on_search_point(fold, params, score)

    def on_epoch_end(self, fold, epoch, metrics):
        self._keep(event="epoch_end", fold=int(fold), epoch=int(epoch), metrics=dict(metrics))
        self.inner.on_epoch_end(fold, epoch, metrics)


def save_events(path: Path, events: Events) -> None:
    atomic_write_text(path, json.dumps(events))


def load_events(path: Path) -> Events:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []


def replay(obs: TrainObserver, events: Events) -> None:
    """Send saved events to ``obs`` as the fit sent them."""
    for ev in events:
        if ev["event"] == "search_point":
            obs.on_search_point(ev["fold"], ev["params"], ev["score"])
        elif ev["event"] == "epoch_end":
            obs.on_epoch_end(ev["fold"], ev["epoch"], ev["metrics"])
        else:
            raise ValueError(f"unknown fold event {ev['event']!r}")
