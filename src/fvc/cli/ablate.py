"""`fvc ablate`: grouped-CV ROC-AUC of a feature model with each feature family removed, and alone."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import (AddressOpt, ExecutorOpt, WorkspaceOpt, console, open_workspace, print_table,
                      workers_or_default)


def register(app: typer.Typer) -> None:
    @app.command("ablate")
    def ablate(
        workspace: WorkspaceOpt = None,
        model: Annotated[str | None, typer.Option(help="Stage-2 feature model (default: the best trained tree model, "
                                                       "else 5beta-lgbm).")] = None,
        force: Annotated[bool, typer.Option("--force", help="Recompute every variant, even when up to date.")] = False,
        workers: Annotated[int | None, typer.Option("--workers", min=1, show_default=False,
                                                    help="Worker processes for the (variant, fold) cells "
                                                         "(default: the cores available; 1: one after another "
                                                         "in this process).")] = None,
        executor: ExecutorOpt = "local",
        address: AddressOpt = None,
    ) -> None:
        """Ablate feature families: the model's own CV without each family and with it alone (table 'ablation')."""
        from ..orchestration.executors import executor_for
        from ..orchestration.fold_grid import ablate as run_ablation, cell_mapper
        from ..report.ablation import ablation_scores, kinds_of

        runner = executor_for(executor, address, workers)  # bad options or a missing extra: before the lock
        ws, cfg = open_workspace(workspace, lock=True)

        def progress(i: int, n: int, name: str) -> None:
            console.print(f"[{i + 1}/{n}] {name}", highlight=False)

        n_workers = workers_or_default(workers)
        where = "Ray tasks" if runner is not None else f"{n_workers} worker process(es)" if n_workers > 1 else "this process"

        def cells(n: int) -> None:
            console.print(f"computing {n} unfinished (variant, fold) cells on {where}", highlight=False)

        table, computed = run_ablation(ws, cfg, model, cell_mapper(runner, n_workers), force=force,
                                       on_variant=progress, on_cells=cells)
        if not computed:
            console.print(f"ablation up to date ({ws.table('ablation')}); --force recomputes it")
        scores = ablation_scores(table, kinds_of(ws))
        rows = [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items() if k not in ("mode", "family")}
                for r in scores.to_dict("records")]
        print_table(f"grouped-CV ROC-AUC of {scores['model'].iloc[0]} by feature families", rows)
        console.print(f"ablation -> {ws.table('ablation')}; 'fvc report' shows it")
