"""Training command: grouped cross-validation of registered models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError
from ._common import WorkspaceOpt, console, console_err, open_workspace, print_table


def train(
    workspace: WorkspaceOpt = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Model id, comma list, or 'all' (every feature model).")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="RunConfig YAML to reproduce a run.")] = None,
    folds: Annotated[int | None, typer.Option(min=2, help="Expected number of folds (must match splits.parquet).")] = None,
    fold: Annotated[list[int] | None, typer.Option("--fold", min=0, help="Evaluate only this outer fold (repeatable).")] = None,
    preset: Annotated[str | None, typer.Option(help="Model preset (e.g. smoke, full for deep models).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default 42).")] = None,
    save_config: Annotated[Path | None, typer.Option("--save-config", help="Also write the RunConfig YAML here.")] = None,
    tracking_uri: Annotated[str | None, typer.Option("--tracking-uri", help="MLflow tracking URI (default: workspace store).")] = None,
    no_tracking: Annotated[bool, typer.Option("--no-tracking", help="Do not log to MLflow / the experiment log.")] = False,
    no_pretrained: Annotated[bool, typer.Option("--no-pretrained", help="Deep models: train from scratch, no pretrained weights.")] = False,
) -> None:
    """Cross-validate models on the grouped folds; write results/<model>/ and the final model."""
    from ..models.registry import resolve_models
    from ..training.events import ConsoleObserver, build_observers
    from ..training.run_config import RunConfig, check_fold_count, default_run_config, run_training
    ws, cfg = open_workspace(workspace)
    if (model is None) == (config is None):
        raise InputError("fvc train", "give exactly one of --model ID and --config run.yaml")
    if config is not None:
        rcs = [RunConfig.from_yaml(config)]
    else:
        specs = resolve_models(model)
        if model.strip().lower() == "all":
            # 'all' means every feature model whose input tables exist; the others are named, not hidden.
            missing = {s.id: [f"features_stage{k}" for k in s.feature_stages if not ws.has(f"features_stage{k}")]
                       for s in specs}
            for mid, tables in missing.items():
                if tables:
                    console_err.print(f"[yellow]skipping {mid}:[/] needs {', '.join(tables)} "
                                      "(run 'fvc scale' and 'fvc features --stage 4')", highlight=False)
            specs = [s for s in specs if not missing[s.id]]
        rcs = [default_run_config(spec.id, preset=preset, seed=seed, folds=fold or None,
                                  params={"pretrained": False} if no_pretrained and spec.family == "deep" else None)
               for spec in specs]
        if not rcs:
            raise InputError("--model", f"'{model}' selects no registered model; see 'fvc models'")
    if folds is not None:
        check_fold_count(ws, folds)
    if save_config is not None:
        if len(rcs) != 1:
            raise InputError("--save-config", "needs a single model")
        rcs[0].save(save_config)
    observers = [ConsoleObserver(console_err)]
    if not no_tracking:
        observers += build_observers(ws, {"tracking_uri": tracking_uri})
    results = run_training(ws, cfg, rcs, observers=observers)
    rows = [{"model": r.model_id, "roc_auc": r.mean.get("roc_auc"), "roc_auc_std": r.std.get("roc_auc"),
             "pr_auc": r.mean.get("pr_auc"), "accuracy": r.mean.get("accuracy"), "eer": r.mean.get("eer"),
             "failed": r.n_failed_videos, "config": r.config_hash} for r in results]
    print_table("Grouped CV (mean over folds)", rows)
    for r in results:
        console.print(f"{r.model_id} -> {r.result_dir}")


def register(app: typer.Typer) -> None:
    app.command("train")(train)
