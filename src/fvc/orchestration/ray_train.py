"""One deep (model, fold) cell trained data parallel by Ray Train's ``TorchTrainer``.

Ray Train starts ``workers`` worker processes (one GPU each when asked),
sets up their torch process group (``gloo`` on CPU, ``nccl`` on GPU) and
torchrun's variables (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``). Each worker
then runs the same entry point as a ``torchrun`` rank under SLURM,
:func:`.fold_grid.run_cell`: our trainer joins the group Ray set up
(:mod:`fvc.training.distributed` never initialises a second one), every rank
trains the fold and rank 0 writes it, with its fit's events, where the
gather reuses it. Ray Train's own run folder goes under the workspace
(``cache/ray_train/``), never ``~/ray_results``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ray.train import FailureConfig, RunConfig, ScalingConfig
from ray.train.torch import TorchTrainer

from ..config import FvcConfig
from ..errors import FvcError
from ..workspace import Workspace
from . import fold_grid

RUN_DIR = "ray_train"
MAX_FAILURES = 1  # a lost worker restarts the group once; the fold resumes from its last epoch checkpoint


def storage(ws: Workspace) -> Path:
    return ws.cache_dir / RUN_DIR


def _train_loop(config: dict[str, Any]) -> None:
    fold_grid.run_cell(config["ws"], config["cfg"], config["cell"])


def _cause(exc: BaseException) -> BaseException | None:
    """The bad-input error a worker stopped on, if any (Ray Train wraps what the workers raised)."""
    for err in [*(getattr(exc, "worker_failures", None) or {}).values(), exc]:
        seen = err
        while seen is not None:
            if isinstance(seen, FvcError):
                return seen
            seen = getattr(seen, "cause", None) or seen.__cause__
    return None


def train_cell(ws: Workspace, cfg: FvcConfig, cell: fold_grid.Cell, workers: int, use_gpu: bool) -> None:
    """Train ``cell`` on ``workers`` Ray Train workers (blocks until the fold is on disk)."""
    trainer = TorchTrainer(
        _train_loop,
        train_loop_config={"ws": ws, "cfg": cfg, "cell": cell.as_dict()},
        scaling_config=ScalingConfig(num_workers=workers, use_gpu=use_gpu),
        run_config=RunConfig(name=f"{cell.model}-fold{cell.fold}-{fold_grid.cell_key(cell)}",
                             storage_path=str(storage(ws)), failure_config=FailureConfig(max_failures=MAX_FAILURES)),
    )
    try:
        trainer.fit()
    except Exception as exc:
        cause = _cause(exc)
        if cause is not None:
            raise cause from None  # bad input: its one line, not the workers' tracebacks
        raise
