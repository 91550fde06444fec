"""`fvc mlflow-ui`: the real MLflow server answers HTTP on 127.0.0.1, and stopping fvc stops it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from fvc.errors import FvcError
from fvc.tracking.ui import HOST, check_port_free, ui_command
from fvc.workspace import Workspace

FVC = Path(sys.executable).with_name("fvc")
# The server imports MLflow's whole app; on two shared cores that has taken ~45 s. Bounded, not skipped.
START_TIMEOUT = 240.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _stat(pid: int | str) -> tuple[str, int] | None:
    """(state, process group) from /proc, or None once the process is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[2])


def _pid_alive(pid: int) -> bool:
    """Running; a zombie (left by an init that does not reap) has stopped."""
    st = _stat(pid)
    return st is not None and st[0] != "Z"


def _group_members(pgid: int) -> list[int]:
    """Pids of live (non-zombie) processes in process group ``pgid``."""
    pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
    return [p for p in pids if (st := _stat(p)) is not None and st[0] != "Z" and st[1] == pgid]


def test_ui_command_is_loopback_on_the_workspace_store(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    ws = Workspace(tmp_path)
    cmd = ui_command(ws, port=5999)
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and cmd[cmd.index("--port") + 1] == "5999"
    assert cmd[cmd.index("--backend-store-uri") + 1] == f"sqlite:///{tmp_path}/mlflow.db"
    assert cmd[cmd.index("--default-artifact-root") + 1] == (tmp_path / "mlruns").as_uri()
    with pytest.raises(FvcError, match="is a server"):
        ui_command(ws, tracking_uri="http://example.org:5000")


def test_busy_port_is_a_one_line_error():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        s.listen()
        with pytest.raises(FvcError, match=f"port {s.getsockname()[1]} on 127.0.0.1 is in use"):
            check_port_free(s.getsockname()[1])


def test_mlflow_ui_serves_http_on_loopback(tmp_path):
    ws = Workspace(tmp_path / "ws").ensure()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.update(PYTHONUNBUFFERED="1", COLUMNS="400", MLFLOW_DISABLE_TELEMETRY="true", CI="true")
    proc = subprocess.Popen([str(FVC), "mlflow-ui", "-w", str(ws.root), "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    server_pid = None
    try:
        deadline, status, last = time.monotonic() + START_TIMEOUT, None, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://{HOST}:{port}/", timeout=5) as resp:
                    status, body = resp.status, resp.read()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                last = exc
                time.sleep(1.0)
        found = re.search(r"server pid (\d+)", "".join(lines))
        server_pid = int(found.group(1)) if found else None
        assert status == 200, f"no HTTP 200 within {START_TIMEOUT:.0f} s (last: {last}); output:\n{''.join(lines)}"
        assert b"<html" in body.lower() or b"mlflow" in body.lower()
        assert f"http://127.0.0.1:{port}" in "".join(lines) and server_pid is not None
        # stopping fvc (a plain SIGTERM, as a supervisor would) stops the server and frees the port
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        end = time.monotonic() + 30
        while _pid_alive(server_pid) and time.monotonic() < end:
            time.sleep(0.2)
        assert not _pid_alive(server_pid)
        assert _group_members(server_pid) == []  # nothing of the server's group runs on (uvicorn included)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((HOST, port), timeout=5).close()
        check_port_free(port)  # `fvc mlflow-ui` can start again on the same port at once
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the fvc process group this test started
            proc.wait(timeout=10)
        if server_pid is not None and _pid_alive(server_pid):
            os.killpg(server_pid, signal.SIGKILL)  # the server's own group, started by that fvc
