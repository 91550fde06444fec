"""The executor a command's ``--executor`` names: None for this machine's pool, or a cluster's."""

from __future__ import annotations

from ..errors import InputError
from ..pipeline import PipelineExecutor

EXECUTORS = ("local", "ray")


def executor_for(name: str, address: str | None = None, workers: int | None = None,
                 gpus_per_task: float | None = None, ddp_workers: int | None = None) -> PipelineExecutor | None:
    name = name.strip().lower()
    if name not in EXECUTORS:
        raise InputError("--executor", f"unknown executor '{name}'; choose from {', '.join(EXECUTORS)}")
    if name == "local":
        if address is not None:
            raise InputError("--address", "is for --executor ray")
        if ddp_workers is not None and ddp_workers > 1:
            raise InputError("--ddp-workers", "is for --executor ray (on this machine: torchrun --nproc-per-node N "
                             "-m fvc.cli train ... --ddp; under SLURM: fvc slurm --gpus-per-task N)")
        return None
    from .ray_executor import RayExecutor  # imported only here: Ray is an optional extra

    return RayExecutor(address=address, num_cpus=workers, gpus_per_task=gpus_per_task, ddp_workers=ddp_workers)
