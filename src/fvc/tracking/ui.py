"""The MLflow UI on a workspace's store, bound to loopback only.

The UI has no authentication, so it listens on 127.0.0.1; reaching it from
elsewhere is a deliberate choice (an SSH tunnel), never a default.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

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
        # As uvicorn binds: connections of a stopped server in TIME_WAIT do not count, a listener does.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            raise FvcError(f"port {port} on {HOST} is in use; pass --port with a free one") from None


def serve(cmd: list[str], cwd: Path, on_start: Callable[[int], None] | None = None) -> int:
    """Run the UI until it exits, Ctrl-C or SIGTERM; always stop the whole server with us.

    ``mlflow ui`` starts uvicorn as its own child. The server runs in a new
    session (its own process group) so that stopping fvc, by Ctrl-C or by a
    plain ``kill``, can stop exactly that group and leave no server holding
    the port.
    """
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, start_new_session=True)

    def stop(*_):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        if on_start is not None:
            on_start(proc.pid)
        return proc.wait()
    except KeyboardInterrupt:
        _stop_group(proc)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stop_group(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the server's process group, SIGKILL it if still there after ``grace`` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
