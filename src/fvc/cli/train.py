"""Training command: grouped cross-validation of registered models."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from ..errors import InputError
from ._common import AddressOpt, ExecutorOpt, WaitOpt, WorkspaceOpt, console, console_err, open_workspace, print_table


def train(
    workspace: WorkspaceOpt = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Model id, comma list, or 'all' (every feature model).")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="RunConfig YAML to reproduce a run.")] = None,
    folds: Annotated[int | None, typer.Option(min=2, help="Expected number of folds (must match splits.parquet).")] = None,
    fold: Annotated[list[int] | None, typer.Option("--fold", min=0, help="Evaluate only this outer fold (repeatable).")] = None,
    preset: Annotated[str | None, typer.Option(help="Model preset: full (default) or smoke (tiny, for a quick check).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default 42).")] = None,
    save_config: Annotated[Path | None, typer.Option("--save-config", help="Also write the RunConfig YAML here.")] = None,
    tracking_uri: Annotated[str | None, typer.Option("--tracking-uri", help="MLflow tracking URI (default: workspace store).")] = None,
    no_tracking: Annotated[bool, typer.Option("--no-tracking", help="Do not log to MLflow / the experiment log.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Recompute every fold, ignoring finished ones.")] = False,
    no_pretrained: Annotated[bool, typer.Option("--no-pretrained", help="Deep models and 5f-5j backbones: train from scratch (per fold), no pretrained weights.")] = False,
    wait: WaitOpt = False,
    executor: ExecutorOpt = "local",
    address: AddressOpt = None,
    members: Annotated[str | None, typer.Option("--members", help="Ensemble (--model ens): comma-separated member ids, e.g. 5beta-cat,5d.")] = None,
    device: Annotated[str | None, typer.Option("--device", help="Deep models: auto (CUDA when present, default), cpu, cuda or cuda:N.")] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=0, help="Deep models: loader workers (default: cores - 1 on CUDA, 0 on CPU).")] = None,
    ddp: Annotated[bool, typer.Option("--ddp", help="Deep models: data parallel over the processes torchrun started (torchrun --nproc-per-node N -m fvc.cli train ... --ddp).")] = False,
    ddp_workers: Annotated[int | None, typer.Option("--ddp-workers", min=1, help="Deep models with --executor ray: train each fold data parallel on N Ray Train workers (one GPU each when the cluster has GPUs).")] = None,
    deterministic: Annotated[bool, typer.Option("--deterministic", help="Deep models: bit-exact kernels (the CPU default; on CUDA it costs cudnn.benchmark and the fastest kernels).")] = False,
) -> None:
    """Cross-validate models on the grouped folds; write results/<model>/ and the final model.

    Models train at their catalog preset ('full') unless --preset says otherwise.
    """
    from ..orchestration.executors import executor_for

    if ddp and executor.strip().lower() != "local":
        raise InputError("--ddp", "is for processes torchrun started; with --executor ray use --ddp-workers N")
    runner = executor_for(executor, address, ddp_workers=ddp_workers)  # bad options or a missing extra: before the lock
    main = int(os.environ.get("RANK", "0") or 0) == 0  # under torchrun rank 0 holds the lock and writes
    ws, cfg = open_workspace(workspace, lock=main, wait=wait, save=main)  # before the heavy imports: a busy workspace says so at once
    from ..experiment import RunConfig, default_run_config, run_experiment
    from ..experiment.observers import build_observers
    from ..experiment.run_config import check_fold_count
    from ..models import get_model, resolve_models

    if (model is None) == (config is None):
        raise InputError("fvc train", "give exactly one of --model ID and --config run.yaml")
    if config is not None:
        rcs = [RunConfig.from_yaml(config)]
    else:
        entries = resolve_models(model)
        if model.strip().lower() == "all":
            # 'all' means every feature model whose input tables exist; the others are named, not hidden.
            missing = {e.id: [f"features_stage{k}" for k in e.data.stages if not ws.has(f"features_stage{k}")]
                       for e in entries}
            for mid, tables in missing.items():
                if tables:
                    console_err.print(f"[yellow]skipping {mid}:[/] needs {', '.join(tables)} "
                                      "(run 'fvc scale' and 'fvc features --stage 4')", highlight=False)
            entries = [e for e in entries if not missing[e.id]]
        if members is not None and any(e.family != "ensemble" for e in entries):
            raise InputError("--members", "is for the ensemble only: --model ens --members 5a,5d")
        rcs = [default_run_config(e.id, preset=preset, seed=seed, folds=fold or None,
                                  params=_params(e, no_pretrained, members, deterministic)) for e in entries]
        if not rcs:
            raise InputError("--model", f"'{model}' selects no model; see 'fvc models'")
    if any(get_model(rc.model).family != "features" for rc in rcs):
        from ..training.device import resolve_device

        asked = device or rcs[0].device
        used = resolve_device(asked)  # an absent device: one-line error before any work
        if asked == "auto" and main:
            console_err.print(f"device: {used} (auto)", highlight=False)
    rcs = [_runtime(rc, device, workers, ddp) for rc in rcs]
    if folds is not None:
        check_fold_count(ws, folds)
    if save_config is not None:
        if len(rcs) != 1:
            raise InputError("--save-config", "needs a single model")
        rcs[0].save(save_config)
    observers = build_observers(ws, tracking=not no_tracking and main, tracking_uri=tracking_uri, console=console_err,
                                holds_lock=main)
    if runner is not None:  # folds as tasks on the executor, gathered here (one MLflow parent per model)
        results = runner.train(ws, cfg, rcs, observers, force=force)
    else:
        results = [run_experiment(ws, cfg, rc, observers, force=force) for rc in rcs]
    rows = [{"model": r.model_id, "preset": r.summary.get("preset"), "roc_auc": r.mean.get("roc_auc"),
             "roc_auc_std": r.std.get("roc_auc"), "pr_auc": r.mean.get("pr_auc"), "accuracy": r.mean.get("accuracy"),
             "eer": r.mean.get("eer"), "failed": r.n_failed_videos, "config": r.config_hash} for r in results]
    print_table("Grouped CV (mean over folds)", rows)
    for r in results:
        console.print(f"{r.model_id} -> {r.result_dir}")


def _params(entry, no_pretrained: bool, members: str | None, deterministic: bool = False) -> dict | None:
    """Run-config params from the flags: no weights for deep models and 5f-5j backbones, the ensemble's members,
    bit-exact training for deep models."""
    params: dict = {}
    if no_pretrained and entry.family in ("deep", "embedding"):
        params["weights"] = None
    if deterministic and entry.family in ("deep", "embedding"):
        params["deterministic"] = True
    if members is not None:
        params["members"] = [m.strip() for m in members.split(",") if m.strip()]
    return params or None


def _runtime(rc, device: str | None, workers: int | None, ddp: bool):
    """The run config with the command line's device, workers and --ddp (none of them changes its hash)."""
    update = {k: v for k, v in (("device", device), ("workers", workers)) if v is not None}
    if ddp:
        update["ddp"] = True
    if not update:
        return rc
    try:
        return type(rc).model_validate({**rc.model_dump(), **update})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(f"--{first['loc'][0]}", f"{first['msg']} (got '{first['input']}')") from exc


def register(app: typer.Typer) -> None:
    app.command("train")(train)
