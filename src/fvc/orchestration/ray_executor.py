"""Per-video stages and the model x fold grid as Ray tasks, on this machine or a Ray cluster.

Rows go out as tasks and their outcomes come back to the driver, which
writes the part files exactly as with the local pool: resume, error rows and
row order stay the runner's. A task on another node writes its stage's files
(augmented, scaled videos) under the workspace path, so the workspace must be
the same shared path on every node. Training runs one task per (model, fold)
(:mod:`.fold_grid`), with ``num_gpus`` for deep models; with
``ddp_workers`` > 1 a deep model's fold is trained data parallel by that many
Ray Train workers instead (:mod:`.ray_train`). The driver gathers the folds
and is the only process that writes MLflow.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import FvcError

try:
    import ray
    from ray import exceptions as rex
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise FvcError("--executor ray needs Ray: pip install fvc-detect[ray]") from exc

from ..config import FvcConfig
from ..models import get_model
from ..stages.pool import Outcome, attempt
from ..training.events import TrainObserver
from ..workspace import Workspace
from . import fold_grid

MAX_RETRIES = 1  # a lost node or a crashed worker gets one more try; then the video is an error row
# A worker process that died (native crash, OOM kill, lost node): its video's fault or the machine's, not ours.
_CRASHES = tuple(getattr(rex, n) for n in ("WorkerCrashedError", "OutOfMemoryError", "NodeDiedError",
                                          "ActorDiedError", "LocalRayletDiedError") if hasattr(rex, n))
DEEP_FAMILIES = ("deep",)


@ray.remote
def _row_task(fn: Callable[[dict[str, Any]], Any], row: dict[str, Any]) -> Outcome:
    return attempt(fn, row, catch_bugs=True)


@ray.remote
def _cell_task(ws: Workspace, cfg: FvcConfig, cell: fold_grid.Cell) -> None:
    fold_grid.run_cell(ws, cfg, cell)


class RayExecutor:
    """``fvc run/train --executor ray [--address auto|ray://HOST:10001]``.

    Without an address (and no Ray started in this process) a local Ray
    with ``num_cpus`` is started; ``auto`` joins the cluster this machine
    belongs to; ``ray://`` connects a Ray client to a remote head.
    ``ddp_workers`` > 1 (``fvc train --ddp-workers N``): each deep model's
    fold is trained by N Ray Train workers (DDP), one GPU each when the
    cluster has GPUs.
    """

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None,
                 gpus_per_task: float | None = None, ddp_workers: int | None = None):
        self.address = address
        self.num_cpus = num_cpus
        self.gpus_per_task = gpus_per_task
        self.ddp_workers = ddp_workers
        self.rows_sent = 0  # rows handed to Ray tasks (what a test checks to know Ray did the work)

    def connect(self) -> None:
        if ray.is_initialized():
            return
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        try:
            ray.init(address=self.address, num_cpus=None if self.address else self.num_cpus,
                     include_dashboard=False, log_to_driver=True)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = self.address or "a local Ray"
            raise FvcError(f"cannot start or reach {where}: {str(exc).splitlines()[0] if str(exc) else exc}") from None

    # -- per-video rows ---------------------------------------------------
    def map(self, fn: Callable[[dict[str, Any]], Any], rows: list[dict[str, Any]],
            crash_message: Callable[[dict[str, Any], str], str]) -> Iterator[tuple[int, Outcome]]:
        """Yield ``(position, outcome)`` as tasks finish, keeping about two tasks per CPU in flight."""
        self.connect()
        fn_ref = ray.put(fn)
        task = _row_task.options(num_cpus=1, max_retries=MAX_RETRIES)
        window = 2 * max(1, int(ray.cluster_resources().get("CPU", 1)))
        pending: dict[Any, int] = {}
        nxt = 0
        try:
            while nxt < len(rows) or pending:
                while nxt < len(rows) and len(pending) < window:
                    pending[task.remote(fn_ref, rows[nxt])] = nxt
                    self.rows_sent += 1
                    nxt += 1
                (ref,), _ = ray.wait(list(pending), num_returns=1)
                pos = pending.pop(ref)
                try:
                    outcome = ray.get(ref)
                except _CRASHES as exc:
                    outcome = ("error", crash_message(rows[pos], f"Ray: {type(exc).__name__}"))
                yield pos, outcome
        finally:  # a stopping error or Ctrl-C: no task keeps writing into the workspace
            for ref in pending:
                ray.cancel(ref, force=True)

    # -- training ---------------------------------------------------------
    def train(self, ws: Workspace, cfg: FvcConfig, rcs: list[Any], observers: list[TrainObserver],
              force: bool = False) -> list[Any]:
        return fold_grid.train_grid(ws, cfg, rcs, observers, self.map_cells, force=force)

    def _gpus(self, cell: fold_grid.Cell) -> float:
        if get_model(cell.model).family not in DEEP_FAMILIES:
            return 0
        if self.gpus_per_task is not None:
            return self.gpus_per_task
        return 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0

    def _ddp(self, cell: fold_grid.Cell) -> bool:
        return (self.ddp_workers or 1) > 1 and get_model(cell.model).family in DEEP_FAMILIES

    def map_cells(self, ws: Workspace, cfg: FvcConfig, cells: list[fold_grid.Cell]) -> None:
        """One task per (model, fold), all at once (Ray queues what the cluster cannot hold yet); the DDP
        cells meanwhile one after another, each on ``ddp_workers`` Ray Train workers."""
        self.connect()
        refs = [_cell_task.options(num_cpus=1, num_gpus=self._gpus(c), max_retries=MAX_RETRIES).remote(ws, cfg, c)
                for c in cells if not self._ddp(c)]
        try:
            ddp = [c for c in cells if self._ddp(c)]
            if ddp:
                from .ray_train import train_cell

                use_gpu = (self.gpus_per_task if self.gpus_per_task is not None
                           else ray.cluster_resources().get("GPU", 0)) > 0
                for c in ddp:
                    train_cell(ws, cfg, c, int(self.ddp_workers), use_gpu)
            ray.get(refs)
        except BaseException as exc:
            for ref in refs:
                ray.cancel(ref, force=True)
            if isinstance(exc, rex.RayTaskError) and isinstance(exc.cause, FvcError):
                raise exc.cause from None  # bad input: its one line, not a remote traceback
            raise
