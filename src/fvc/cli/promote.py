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
        tracking_uri: Annotated[str | None, typer.Option("--tracking-uri", help="MLflow tracking URI (default: the workspace store).")] = None,
        workspace: WorkspaceOpt = None,
    ) -> None:
        """Set the champion alias on the registered model version with the best CV ROC-AUC."""
        from ..tracking.mlflow_store import open_store
        from ..tracking.registry import promote as do_promote

        ws, _ = open_workspace(workspace)
        store = open_store(ws, tracking_uri)
        result = do_promote(store, model, alias)
        print_table("registered versions", result["candidates"].to_dict("records"))
        console.print(f"{alias}: {result['uri']} = {result['name']} version {result['version']} "
                      f"(CV ROC-AUC {result['cv_roc_auc']:.4f})")
