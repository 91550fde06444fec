"""`fvc mlflow-ui`: the MLflow UI on the workspace's tracking store, on loopback."""

from __future__ import annotations

import os
import subprocess
from typing import Annotated

import typer

from ._common import WorkspaceOpt, console, open_workspace


def register(app: typer.Typer) -> None:
    @app.command("mlflow-ui")
    def mlflow_ui(
        port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 5000,
        tracking_uri: Annotated[str | None, typer.Option("--tracking-uri", help="Store to show (default: the workspace's).")] = None,
        workspace: WorkspaceOpt = None,
    ) -> None:
        """Start the MLflow UI on the workspace's runs and models (127.0.0.1 only; Ctrl-C stops it)."""
        from ..tracking.ui import HOST, check_port_free, ui_command

        ws, _ = open_workspace(workspace)
        cmd = ui_command(ws, port, tracking_uri)
        check_port_free(port)
        console.print(f"MLflow UI for {ws.root} at http://{HOST}:{port} (Ctrl-C to stop)")
        env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
        try:
            return subprocess.run(cmd, env=env, cwd=ws.root).returncode
        except KeyboardInterrupt:
            return 0
