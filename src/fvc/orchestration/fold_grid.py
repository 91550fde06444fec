"""The model x fold grid of training, for executors that run folds side by side.

A fold is computed anywhere with :func:`fvc.experiment.run_experiment_fold`
and saved where ``run_experiment`` resumes it, with the events its fit
emitted (grid points, epochs; :mod:`fvc.experiment.fold_events`); then
``run_experiment``, in one process, gathers the folds, replays their events
as it reuses them, refits the final model and reports to the observers. So
MLflow holds exactly what a one-process run logs (one parent run per model,
a child per fold, its grid points under it: none lost, none twice), also
when a task ran twice, and only one process ever writes the tracking store.
A deep model's cell can itself be trained by several processes (torchrun
under SLURM, Ray Train's TorchTrainer): see :func:`run_cell`.

The feature-family ablation's (variant, fold) cells are cells of the same
grid (``Cell.ablation`` names the variant): :func:`ablate` spreads them with
the same ``map_cells`` (:func:`map_here`, the local pool :func:`map_pool`, or
Ray's), then gathers the table in one process.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..config import FvcConfig
from ..experiment import RunConfig, experiment_folds, run_experiment, run_experiment_fold
from ..experiment import ablation
from ..errors import FvcError, InputError
from ..experiment.result_files import CVResult
from ..models import get_model
from ..stages.pool import raise_if_stopping, run_pool
from ..training import distributed
from ..training.device import resolve_device
from ..training.events import TrainObserver
from ..workspace import Workspace


@dataclass(frozen=True)
class Cell:
    """One (model, fold) task: everything a process on another machine needs besides the workspace."""

    model: str
    fold: int
    run_config: dict[str, Any]  # RunConfig.model_dump(mode="json")
    ablation: str = ""  # a feature-family ablation variant ("without noise"); "" for the model's own run

    def rc(self) -> RunConfig:
        return RunConfig(**self.run_config)

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "fold": self.fold, "run_config": self.run_config, "ablation": self.ablation}


def rc_key(rc: RunConfig) -> str:
    return rc.hash()


def cell_key(cell: Cell) -> str:
    """The run config's hash: events kept on disk are matched to the run they came from."""
    return rc_key(cell.rc())


def plan(ws: Workspace, rcs: list[RunConfig], force: bool = False) -> list[Cell]:
    """Every (model, fold) of the runs, in run then fold order; ``force`` forgets their saved folds first."""
    return [Cell(rc.model, int(k), rc.model_dump(mode="json"))
            for rc in rcs for k in experiment_folds(ws, rc, forget=force)]


def run_cell(ws: Workspace, cfg: FvcConfig, cell: Cell | dict[str, Any]) -> None:
    """Compute one fold and save it (a finished one is reused), with the events of its fit beside it.

    Under ``torchrun`` (``WORLD_SIZE`` > 1) or in a Ray Train worker (a process group already set up), every
    rank trains the fold through the DDP trainer and rank 0 alone writes it; the other ranks return when the
    fold is on disk. Rank 0 builds the clip cache first (the loop loads rank 0 first), so ranks never write
    one cache side by side.
    """
    cell = cell if isinstance(cell, Cell) else Cell(**cell)
    rc = cell.rc()
    if cell.ablation:
        ablation.run_variant_fold(ws, rc, cell.ablation, cell.fold)
        return
    if distributed.env_world_size() > 1 or distributed.group_ready():
        if get_model(rc.model).family != "deep":
            raise InputError(cell.model, "only deep models train one fold in several processes (DDP); "
                             "run the others with one process per fold")
        rc = rc.model_copy(update={"ddp": True})
        d = distributed.current(resolve_device(rc.device).type)
        run_experiment_fold(ws, cfg, rc, cell.fold)  # rank 0 loads (and caches) the data first
        distributed.barrier(d)  # rank 0 has written the fold
        return
    run_experiment_fold(ws, cfg, rc, cell.fold)


def gather(ws: Workspace, cfg: FvcConfig, rcs: list[RunConfig],
           observers: list[TrainObserver] | None) -> list[CVResult]:
    """``run_experiment`` per run, over the folds computed elsewhere (their saved events are replayed)."""
    return [run_experiment(ws, cfg, rc, observers or []) for rc in rcs]


MapCells = Callable[[Workspace, FvcConfig, list[Cell]], None]


def train_grid(ws: Workspace, cfg: FvcConfig, rcs: list[RunConfig], observers: list[TrainObserver] | None,
               map_cells: MapCells, force: bool = False) -> list[CVResult]:
    """Plan the grid, compute its cells with ``map_cells`` (in cell order), then gather each run."""
    map_cells(ws, cfg, plan(ws, rcs, force=force))
    return gather(ws, cfg, rcs, observers)


def map_here(ws: Workspace, cfg: FvcConfig, cells: list[Cell]) -> None:
    """The cells one after another in this process (the reference the parallel executors must match)."""
    for c in cells:
        run_cell(ws, cfg, c)


def _pool_cell(ws: Workspace, cfg: FvcConfig, cell: dict[str, Any]) -> list:
    run_cell(ws, cfg, cell)
    return []


def _describe(cell: dict[str, Any]) -> str:
    what = f"{cell['model']} {cell['ablation']}" if cell.get("ablation") else cell["model"]
    return f"{what}, fold {cell['fold']}"


def map_pool(workers: int) -> MapCells:
    """The cells on this machine's stage pool (:func:`fvc.stages.pool.run_pool`), ``workers`` at a time.

    A bad input stops the run with its one line, a full or read-only disk as a StorageError, a worker
    that died or a bug in our code with what the worker said: never a silently missing fold.
    """
    def map_cells(ws: Workspace, cfg: FvcConfig, cells: list[Cell]) -> None:
        rows = [c.as_dict() for c in cells]
        outcomes = run_pool(functools.partial(_pool_cell, ws, cfg), rows, workers,
                            lambda cell, why: f"{_describe(cell)}: worker process died ({why})")
        for pos, outcome in outcomes:
            raise_if_stopping(outcome, ws.root, f"training cell {_describe(rows[pos])}")
            if outcome[0] == "error":
                raise FvcError(outcome[1])

    return map_cells


def cell_mapper(executor: Any | None, workers: int) -> MapCells:
    """Where cells run: the executor's (Ray), else the local pool with ``workers`` > 1, else here."""
    if executor is not None:
        return executor.map_cells
    return map_pool(workers) if workers > 1 else map_here


def ablate(ws: Workspace, cfg: FvcConfig, model: str | None, map_cells: MapCells, force: bool = False,
           on_variant: Callable[[int, int, str], None] | None = None, on_cells: Callable[[int], None] | None = None):
    """The feature-family ablation (:func:`fvc.experiment.ablation.run_ablation`), its cells on ``map_cells``;
    ``on_cells(n)`` hears how many cells are about to be computed."""
    def compute(rc: RunConfig, todo: ablation.Cells) -> None:
        if on_cells is not None:
            on_cells(len(todo))
        dump = rc.model_dump(mode="json")
        map_cells(ws, cfg, [Cell(rc.model, k, dump, ablation=name) for name, k in todo])

    return ablation.run_ablation(ws, model, force=force, on_variant=on_variant, compute=compute)
