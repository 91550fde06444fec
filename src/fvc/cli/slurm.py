"""``fvc slurm``: sbatch scripts for the stage graph (and the fold and gather jobs they run)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ._common import WorkspaceOpt, console, console_err, open_workspace


def slurm(
    workspace: WorkspaceOpt = None,
    partition: Annotated[str | None, typer.Option(help="SLURM partition of every job.")] = None,
    gpus_per_task: Annotated[int, typer.Option("--gpus-per-task", min=0, help="GPUs per deep-model fold task; >1: the fold is trained data parallel by that many processes on one node (srun torchrun, DDP).")] = 1,
    cpus_per_task: Annotated[int, typer.Option("--cpus-per-task", min=1, help="CPUs per job (the stage workers).")] = 4,
    array_parallelism: Annotated[int | None, typer.Option("--array-parallelism", min=1, help="Fold tasks running at once (array %K).")] = None,
    time: Annotated[str | None, typer.Option("--time", help="Time limit of every job, e.g. 04:00:00.")] = None,
    models: Annotated[str, typer.Option(help="Models to train, as for 'fvc run'.")] = "all",
    archives: Annotated[Path | None, typer.Option(help="Archives folder: adds the setup job (password from $FVC_ARCHIVE_PASSWORD when it runs).")] = None,
    no_tracking: Annotated[bool, typer.Option("--no-tracking", help="Do not log training to MLflow.")] = False,
    submit: Annotated[bool, typer.Option("--submit", help="Also submit the chain (runs slurm/submit.sh).")] = False,
    job: Annotated[str | None, typer.Option("--job", hidden=True, help="Run a job body: fold or gather (used by the scripts).")] = None,
    cells: Annotated[Path | None, typer.Option("--cells", hidden=True)] = None,
    index: Annotated[int | None, typer.Option("--index", hidden=True)] = None,
) -> None:
    """Write sbatch scripts for the stage graph under WORKSPACE/slurm/ (one job per stage, a fold array, a gather).

    Jobs are chained with --dependency=afterok, log to WORKSPACE/slurm/logs/ and resume when requeued
    (a deep fold from its last epoch checkpoint). With --gpus-per-task G > 1 each deep fold's task runs
    'srun torchrun --nproc_per_node=G': G processes train the fold together (DDP) and rank 0 writes it.
    """
    from ..errors import InputError
    from ..orchestration import slurm as jobs

    if job is not None:
        _job(workspace, job, cells, index, models, not no_tracking)
        return
    if partition is None:
        raise InputError("--partition", "is required (the SLURM partition the jobs run in)")
    ws, cfg = open_workspace(workspace, lock=True)
    opts = jobs.SlurmOptions(partition=partition, gpus_per_task=gpus_per_task, cpus_per_task=cpus_per_task,
                             array_parallelism=array_parallelism, time=time, models=models,
                             archives=archives.resolve() if archives else None, tracking=not no_tracking)
    paths = jobs.write_scripts(ws, cfg, opts)
    for p in paths:
        console.print(str(p), highlight=False)
    console.print(f"submit with: {jobs.slurm_dir(ws) / 'submit.sh'}", highlight=False)
    if submit:
        console.print(jobs.submit(ws), highlight=False)


def _job(workspace: Path | None, job: str, cells: Path | None, index: int | None, models: str,
         tracking: bool) -> None:
    from ..errors import InputError
    from ..orchestration import slurm as jobs

    if job == "fold":
        if cells is None or index is None:
            raise InputError("--job fold", "needs --cells and --index")
        ws, cfg = open_workspace(workspace, save=False)  # no lock: a fold writes only its own folder
        cell = jobs.run_fold_job(ws, cfg, cells, index)  # under srun torchrun: every rank trains, rank 0 writes
        if os.environ.get("RANK", "0") in ("", "0"):
            console_err.print(f"fold {cell.fold} of {cell.model} done", highlight=False)
    elif job == "gather":
        from ..experiment.observers import build_observers

        ws, cfg = open_workspace(workspace, lock=True, wait=True)
        results = jobs.run_gather_job(ws, cfg, models, build_observers(ws, tracking=tracking, console=console_err))
        for r in results:
            console.print(f"{r.model_id}: roc_auc {r.mean.get('roc_auc')} -> {r.result_dir}", highlight=False)
    else:
        raise InputError("--job", f"unknown job '{job}' (fold or gather)")


def register(app: typer.Typer) -> None:
    app.command("slurm")(slurm)
