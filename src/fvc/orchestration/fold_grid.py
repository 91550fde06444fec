"""The model x fold grid of training, for executors that run folds side by side.

A fold is computed anywhere with :func:`fvc.experiment.run_experiment_fold`
and saved where ``run_experiment`` resumes it; then ``run_experiment``, in
one process, gathers the folds, refits the final model and reports to the
observers. The events a fold's fit emits (grid points, epochs) are recorded
where it ran and replayed into that gather as the fold starts, so MLflow
holds exactly what a one-process run logs (one parent run per model, a child
per fold, its grid points under it: none lost, none twice) and only one
process ever writes the tracking store.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..config import FvcConfig
from ..experiment import RunConfig, experiment_folds, run_experiment, run_experiment_fold
from ..experiment.result_files import CVResult
from ..training.events import CompositeObserver, TrainObserver
from ..training.metrics import json_safe
from ..workspace import Workspace

Events = list[dict[str, Any]]


@dataclass(frozen=True)
class Cell:
    """One (model, fold) task: everything a process on another machine needs besides the workspace."""

    model: str
    fold: int
    run_config: dict[str, Any]  # RunConfig.model_dump(mode="json")

    def rc(self) -> RunConfig:
        return RunConfig(**self.run_config)

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "fold": self.fold, "run_config": self.run_config}


def rc_key(rc: RunConfig) -> str:
    return rc.hash()


def cell_key(cell: Cell) -> str:
    """The run config's hash: events kept on disk are matched to the run they came from."""
    return rc_key(cell.rc())


def plan(ws: Workspace, rcs: list[RunConfig], force: bool = False) -> list[Cell]:
    """Every (model, fold) of the runs, in run then fold order; ``force`` forgets their saved folds first."""
    return [Cell(rc.model, int(k), rc.model_dump(mode="json"))
            for rc in rcs for k in experiment_folds(ws, rc, forget=force)]


class Recorder(TrainObserver):
    """Keeps the events of a fold's fit as JSON, to replay where the run is gathered."""

    def __init__(self) -> None:
        self.events: Events = []

    def _add(self, **event: Any) -> None:
        self.events.append(json.loads(json.dumps(json_safe(event), default=str)))

    def on_search_point(self, fold, params, score):
        self._add(event="search_point", fold=int(fold), params=dict(params), score=score)

    def on_epoch_end(self, fold, epoch, metrics):
        self._add(event="epoch_end", fold=int(fold), epoch=int(epoch), metrics=dict(metrics))


def run_cell(ws: Workspace, cfg: FvcConfig, cell: Cell | dict[str, Any]) -> Events:
    """Compute one fold (a finished one is reused) and return the events its fit emitted."""
    cell = cell if isinstance(cell, Cell) else Cell(**cell)
    rec = Recorder()
    run_experiment_fold(ws, cfg, cell.rc(), cell.fold, [rec])
    return rec.events


class _Replay(TrainObserver):
    """Passes every event on; as the gather starts a fold, first replays what that fold's fit emitted.

    Not a CompositeObserver: the loop flattens those into their members, which would bypass the replay.
    """

    def __init__(self, observers: list[TrainObserver], events: dict[tuple[str, int], Events]):
        self.inner = CompositeObserver(observers)
        self.pending = events
        self.model: str | None = None

    def on_run_start(self, model_id, run_config, data_fingerprint, tables=None):
        self.model = model_id
        self.inner.on_run_start(model_id, run_config, data_fingerprint, tables)

    def on_fold_start(self, fold):
        self.inner.on_fold_start(fold)
        for ev in self.pending.pop((str(self.model), int(fold)), []):
            if ev["event"] == "search_point":
                self.inner.on_search_point(ev["fold"], ev["params"], ev["score"])
            elif ev["event"] == "epoch_end":
                self.inner.on_epoch_end(ev["fold"], ev["epoch"], ev["metrics"])

    def on_epoch_end(self, fold, epoch, metrics):
        self.inner.on_epoch_end(fold, epoch, metrics)

    def on_search_point(self, fold, params, score):
        self.inner.on_search_point(fold, params, score)

    def on_fold_end(self, fold, metrics, artifacts):
        self.inner.on_fold_end(fold, metrics, artifacts)

    def on_run_end(self, summary, final_model_path, artifacts):
        self.inner.on_run_end(summary, final_model_path, artifacts)

    def on_run_error(self, model_id, error):
        self.inner.on_run_error(model_id, error)


def gather(ws: Workspace, cfg: FvcConfig, rcs: list[RunConfig], observers: list[TrainObserver] | None,
           events: dict[tuple[str, int], Events]) -> list[CVResult]:
    """``run_experiment`` per run, over the folds computed elsewhere, with their events replayed."""
    replay = _Replay(observers or [], dict(events))
    return [run_experiment(ws, cfg, rc, [replay]) for rc in rcs]


MapCells = Callable[[Workspace, FvcConfig, list[Cell]], list[Events]]


def train_grid(ws: Workspace, cfg: FvcConfig, rcs: list[RunConfig], observers: list[TrainObserver] | None,
               map_cells: MapCells, force: bool = False) -> list[CVResult]:
    """Plan the grid, compute its cells with ``map_cells`` (in cell order), then gather each run."""
    cells = plan(ws, rcs, force=force)
    outs = map_cells(ws, cfg, cells)
    return gather(ws, cfg, rcs, observers, {(c.model, c.fold): ev for c, ev in zip(cells, outs)})


def map_here(ws: Workspace, cfg: FvcConfig, cells: list[Cell]) -> list[Events]:
    """The cells one after another in this process (the reference the parallel executors must match)."""
    return [run_cell(ws, cfg, c) for c in cells]
