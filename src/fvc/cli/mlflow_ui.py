"""`fvc mlflow-ui`: the MLflow UI on the workspace's tracking store, on loopback."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import WorkspaceOpt, console, open_workspace


def register(app: typer.Typer) -> None:
    @app.command("mlflow-ui")
    def mlflow_ui(
        port: Annotated[int, typer.Option(min=1, max=65535, help="Port on 127.0.0.1.")] = 5000,
        tracking_uri: Annotated[str | None, typer.Option("--tracking-uri", help="Store to show (default: the workspace's).")] = None,
        workspace: WorkspaceOpt = None,
    ) -> None:
        """Start the MLflow UI on the workspace's runs and models (127.0.0.1 only; Ctrl-C stops it)."""
        from ..tracking.ui import HOST, check_port_free, serve, ui_command

        ws, _ = open_workspace(workspace)
        cmd = ui_command(ws, port, tracking_uri)
        check_port_free(port)
        code = serve(cmd, ws.root, on_start=lambda pid: console.print(
            f"MLflow UI for {ws.root} at http://{HOST}:{port} (server pid {pid}; Ctrl-C to stop)"))
        if code:
            raise typer.Exit(code)
