"""`fvc promote`: put the `champion` alias on the best registered model by CV ROC-AUC."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import WorkspaceOpt, console, open_workspace, print_table


def register(app: typer.Typer) -> None:
    @app.command("promote")
    def promote(
        model: Annotated[str | None, typer.Option("--model", "-m", help="Only this model id's versions compete.")] = None,
        alias: Annotated[str, typer.Option(help="Alias to set.")] = "champion",
        allow_smoke: Annotated[bool, typer.Option("--allow-smoke", help="Let smoke-preset versions compete.")] = False,
        tracking_uri: Annotated[str | None, typer.Option("--tracking-uri", help="MLflow tracking URI (default: the workspace store).")] = None,
        workspace: WorkspaceOpt = None,
    ) -> None:
        """Set the champion alias on the best registered model version.

        Best is the highest mean CV ROC-AUC; versions within one standard error of it are tied and the
        lowest log loss wins. Smoke-preset versions compete only with --allow-smoke.
        """
        from ..tracking.mlflow_store import open_store
        from ..tracking.model_registry import promote as do_promote

        ws, _ = open_workspace(workspace)
        store = open_store(ws, tracking_uri)
        result = do_promote(store, model, alias, allow_smoke=allow_smoke)
        print_table("registered versions", result["candidates"].to_dict("records"),
                    ["name", "version", "preset", "cv_roc_auc", "cv_roc_auc_std", "cv_log_loss", "aliases"])
        console.print(f"{alias}: {result['uri']} = {result['name']} version {result['version']} "
                      f"({result['preset']} preset, CV ROC-AUC {result['cv_roc_auc']:.4f})")
        console.print(f"why: {result['reason']}", highlight=False)
