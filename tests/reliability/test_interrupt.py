"""Ctrl-C: one line saying what was kept, exit code 130, no traceback (a real process and SIGINT)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import fvc

SRC = str(Path(fvc.__file__).resolve().parents[1])


def test_ctrl_c_prints_what_is_kept_and_exits_130(tmp_path):
    out = tmp_path / "corpus"
    env = dict(os.environ, PYTHONPATH=SRC, FVC_NO_PROGRESS="1")
    argv = [sys.executable, "-c", "from fvc.cli import main; main()",
            "synth", "--out", str(out), "--videos", "60", "--workers", "1"]
    # A new session, signalled as a group: what a terminal's Ctrl-C does.
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not out.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # inside the work, not the imports
        assert proc.poll() is None, "the command finished before it could be interrupted"
        os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, (stdout, stderr)
    assert stderr.strip().splitlines() == ["aborted; finished rows are kept, re-run to resume"], stderr
