"""The MLflow UI on a workspace's store, bound to loopback only.

The UI has no authentication, so it listens on 127.0.0.1; reaching it from
elsewhere is a deliberate choice (an SSH tunnel), never a default.
"""

from __future__ import annotations

import socket
import sys

from ..errors import FvcError
from ..workspace import Workspace
from .mlflow_store import LOCAL_SCHEMES, artifact_root, resolve_tracking_uri, scheme

HOST = "127.0.0.1"


def ui_command(ws: Workspace, port: int = 5000, tracking_uri: str | None = None) -> list[str]:
    """The ``mlflow ui`` command line for the workspace store."""
    uri = resolve_tracking_uri(ws, tracking_uri)
    if scheme(uri) not in LOCAL_SCHEMES:
        raise FvcError(f"tracking URI {uri} is a server: open its own UI instead of `fvc mlflow-ui`")
    return [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri,
            "--default-artifact-root", artifact_root(ws).as_uri(), "--host", HOST, "--port", str(port),
            "--workers", "1"]  # one user on loopback; four workers would load four apps on 2 cores


def check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            raise FvcError(f"port {port} on {HOST} is in use; pass --port with a free one") from None
