"""Web app command: the verification page and JSON API."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from ..errors import InputError
from ._common import WorkspaceOpt, console, open_workspace

TOKEN_ENV = "FVC_SERVE_TOKEN"


def serve(
    workspace: WorkspaceOpt = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Default model (default: the registry's champion).", show_default=False)] = None,
    host: Annotated[str, typer.Option(help="Address to bind; anything but loopback needs a token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    token: Annotated[str | None, typer.Option(help=f"Token every API call must send (default: ${TOKEN_ENV}).", show_default=False)] = None,
    max_upload_mb: Annotated[int, typer.Option(min=1, help="Largest upload accepted, in MB.")] = 500,
    queue: Annotated[int, typer.Option(min=1, help="Requests admitted at once; more get 429 with Retry-After.")] = 4,
) -> None:
    """Serve the verification page at / and the JSON API (/api/explain, /api/predict, /api/models, /docs)."""
    from ..serve import LOOPBACK, ServeConfig, create_app

    token = token or os.environ.get(TOKEN_ENV) or None
    if host not in LOOPBACK and not token:
        raise InputError("--host", f"binding {host} exposes the app beyond this machine; set --token or ${TOKEN_ENV}")
    import uvicorn

    ws, _ = open_workspace(workspace)
    app = create_app(ws, model, ServeConfig(max_upload_mb=max_upload_mb, queue=queue, token=token))
    shown = f"[{host}]" if ":" in host else host
    console.print(f"fvc serve: http://{shown}:{port}/ (model {model or 'champion'}; Ctrl-C stops)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
