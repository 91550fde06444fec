"""SLURM batch scripts generated from the stage graph, and the two job bodies they run.

``fvc slurm`` writes, under ``<workspace>/slurm/``, one sbatch script per
stage (``fvc run --from S --to S``), an array job over (model, fold) for
training (a second one on GPUs for deep models, ``srun torchrun`` when a
task has several), a gather job (``run_experiment`` per model over the
computed folds: metrics, final model, MLflow) and ``submit.sh``, which
chains them with ``--dependency=afterok`` along the graph's edges. Every job
logs to ``slurm/logs/``, is ``--requeue``-able and resumes: a stage skips
finished rows, a fold task reuses a finished fold. The archive password is
read from ``$FVC_ARCHIVE_PASSWORD`` at run time, never written to a script.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..config import FvcConfig
from ..errors import FvcError, InputError
from ..experiment import default_run_config
from ..models import resolve_models
from ..pipeline import GRAPH, TRAIN, train_configs
from ..stages import upstream
from ..training import distributed
from ..training.events import TrainObserver
from ..workspace import Workspace, atomic_write_text
from . import fold_grid

SLURM_DIR = "slurm"
CELLS_FILE = "cells.json"
DEEP_FAMILIES = ("deep",)


@dataclass
class SlurmOptions:
    partition: str
    gpus_per_task: int = 1
    cpus_per_task: int = 4
    array_parallelism: int | None = None
    time: str | None = None  # --time of every job, e.g. 04:00:00
    models: str = "all"
    archives: Path | None = None  # with it, a setup job first; without, the chain starts at index
    tracking: bool = True


def slurm_dir(ws: Workspace) -> Path:
    return ws.root / SLURM_DIR


def fvc_command() -> str:
    """The ``fvc`` of this installation (``$FVC`` overrides it in the scripts)."""
    here = Path(sys.executable).with_name("fvc")
    return str(here if here.exists() else shutil.which("fvc") or "fvc")


def _header(ws: Workspace, opts: SlurmOptions, name: str, array: str | None = None, gpus: int = 0) -> list[str]:
    logs = slurm_dir(ws) / "logs"
    log = logs / ("%x-%A_%a.out" if array else "%x-%j.out")
    lines = ["#!/bin/bash", f"#SBATCH --job-name=fvc-{name}", f"#SBATCH --partition={opts.partition}",
             f"#SBATCH --output={log}", "#SBATCH --open-mode=append", "#SBATCH --requeue",
             "#SBATCH --nodes=1", "#SBATCH --ntasks=1", f"#SBATCH --cpus-per-task={opts.cpus_per_task}"]
    if gpus:
        lines.append(f"#SBATCH --gpus-per-task={gpus}")
    if array:
        lines.append(f"#SBATCH --array={array}")
    if opts.time:
        lines.append(f"#SBATCH --time={opts.time}")
    lines += ["", "# Re-runnable: a requeued job resumes (finished rows and folds are kept).", "set -euo pipefail",
              f'FVC="${{FVC:-{fvc_command()}}}"', f"WS={shlex.quote(str(ws.root))}",
              f"mkdir -p {shlex.quote(str(logs))}", f'echo "[$(date -Is)] fvc-{name} on $(hostname)'
              ' job ${SLURM_JOB_ID:-?} task ${SLURM_ARRAY_TASK_ID:--} restart ${SLURM_RESTART_COUNT:-0}"', ""]
    return lines


def _stage_script(ws: Workspace, opts: SlurmOptions, name: str) -> str:
    cmd = ['"$FVC"', "run", "-w", '"$WS"', "--from", name, "--to", name, "--wait",
           '--workers "${SLURM_CPUS_PER_TASK:-1}"', "--models", shlex.quote(opts.models)]
    if name == "setup":
        cmd += ["--archives", shlex.quote(str(opts.archives))]
    if not opts.tracking:
        cmd.append("--no-tracking")
    return "\n".join(_header(ws, opts, name) + [" ".join(cmd), ""])


def _array_script(ws: Workspace, opts: SlurmOptions, name: str, cells: str, n: int, gpus: int) -> str:
    k = f"%{opts.array_parallelism}" if opts.array_parallelism else ""
    body = f'"$FVC" slurm -w "$WS" --job fold --cells {cells} --index "$SLURM_ARRAY_TASK_ID"'
    if gpus > 1:  # one process per GPU of the task; the trainer shares the fold between them (DDP)
        body = f'srun "$(dirname "$FVC")/torchrun" --standalone --nproc_per_node={gpus} -m fvc.cli ' + \
            body.split(" ", 1)[1]
    return "\n".join(_header(ws, opts, name, array=f"0-{n - 1}{k}", gpus=gpus) + [body, ""])


def _gather_script(ws: Workspace, opts: SlurmOptions) -> str:
    cmd = '"$FVC" slurm -w "$WS" --job gather --models ' + shlex.quote(opts.models)
    return "\n".join(_header(ws, opts, "train") + [cmd + ("" if opts.tracking else " --no-tracking"), ""])


def grid_cells(cfg: FvcConfig, models: str) -> tuple[list[fold_grid.Cell], list[fold_grid.Cell]]:
    """(CPU cells, GPU cells): every selected model x every fold of ``splits.folds``, at ``fvc run``'s
    run configs. Known before any table exists, so the arrays can be sized when the chain is submitted."""
    cpu, gpu = [], []
    for entry in resolve_models(models):
        rc = default_run_config(entry.id)
        for k in range(cfg.splits.folds):
            (gpu if entry.family in DEEP_FAMILIES else cpu).append(
                fold_grid.Cell(entry.id, k, rc.model_dump(mode="json")))
    return cpu, gpu


def write_scripts(ws: Workspace, cfg: FvcConfig, opts: SlurmOptions) -> list[Path]:
    """The job scripts (in submission order) and ``submit.sh``; returns the scripts' paths."""
    if opts.archives is None and not ws.has("videos"):
        raise InputError("--archives", "needed for the setup job (no videos table yet)")
    out = slurm_dir(ws)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    cpu, gpu = grid_cells(cfg, opts.models)
    scripts: list[tuple[str, str, list[str]]] = []  # (file, content, names of the jobs it waits for)
    stages = [s for s in GRAPH if s is not TRAIN and (s.name != "setup" or opts.archives is not None)]
    names = {s.name for s in stages}
    for i, s in enumerate(stages):
        deps = [u for u in upstream(list(GRAPH), s.name) if u in names]
        scripts.append((f"{i:02d}-{s.name}.sbatch", _stage_script(ws, opts, s.name), deps))
    train_deps = [u for u in upstream(list(GRAPH), TRAIN.name) if u in names]
    arrays = []
    for label, cells, gpus in (("train-folds", cpu, 0), ("train-folds-gpu", gpu, opts.gpus_per_task)):
        if cells:
            cells_file = out / f"{label}.{CELLS_FILE}"
            atomic_write_text(cells_file, json.dumps([c.as_dict() for c in cells], indent=1))
            file = f"{len(scripts):02d}-{label}.sbatch"
            scripts.append((file, _array_script(ws, opts, label, shlex.quote(str(cells_file)), len(cells), gpus),
                            train_deps))
            arrays.append(file)
    scripts.append((f"{len(scripts):02d}-train.sbatch", _gather_script(ws, opts), arrays or train_deps))
    job_of = {file: f"J{i}" for i, (file, _, _) in enumerate(scripts)}
    by_stage = {file.split("-", 1)[1].rsplit(".", 1)[0]: file for file, _, _ in scripts}
    submit = ["#!/bin/bash", "# Submits the chain; each job starts when the jobs it reads from ended OK.",
              "set -euo pipefail", 'cd "$(dirname "$0")"']
    for file, content, deps in scripts:
        dep_ids = ":".join(f"${job_of[by_stage.get(d, d)]}" for d in deps)
        flag = f" --dependency=afterok:{dep_ids}" if dep_ids else ""
        submit.append(f"{job_of[file]}=$(sbatch --parsable{flag} {file})")
        submit.append(f'echo "{file} -> ${job_of[file]}"')
        atomic_write_text(out / file, content)
        os.chmod(out / file, 0o755)
    atomic_write_text(out / "submit.sh", "\n".join(submit) + "\n")
    os.chmod(out / "submit.sh", 0o755)
    return [out / file for file, _, _ in scripts]


def submit(ws: Workspace) -> str:
    """Run ``submit.sh`` (sbatch must be on PATH); its output, one line per job."""
    if shutil.which("sbatch") is None:
        raise FvcError("--submit needs SLURM's sbatch on PATH; the scripts are written, submit them with "
                       f"{slurm_dir(ws) / 'submit.sh'}")
    out = subprocess.run(["bash", str(slurm_dir(ws) / "submit.sh")], capture_output=True, text=True)
    if out.returncode != 0:
        raise FvcError(f"sbatch failed: {(out.stderr or out.stdout).strip().splitlines()[-1:]}")
    return out.stdout


# -- the job bodies -------------------------------------------------------------------------
def run_fold_job(ws: Workspace, cfg: FvcConfig, cells_file: Path, index: int) -> fold_grid.Cell:
    """Array task ``index``: its fold, saved with its fit's events for the gather job.

    Under ``srun torchrun`` (several GPUs per task) every process runs this; they train the fold together
    (DDP) and rank 0 writes it. A requeued task finds its fold finished and reuses it.
    """
    try:
        cells = [fold_grid.Cell(**c) for c in json.loads(Path(cells_file).read_text())]
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(cells_file, f"not a cells file written by 'fvc slurm' ({exc})") from exc
    if not 0 <= index < len(cells):
        raise InputError("--index", f"{index} is outside the array 0-{len(cells) - 1}")
    cell = cells[index]
    try:
        fold_grid.run_cell(ws, cfg, cell)
    finally:
        distributed.leave()
    return cell


def run_gather_job(ws: Workspace, cfg: FvcConfig, models: str, observers: list[TrainObserver]) -> list:
    """``run_experiment`` for each selected model whose results are stale; reused folds replay their events."""
    return fold_grid.gather(ws, cfg, train_configs(ws, models)[0], observers)
