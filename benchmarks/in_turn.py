"""Two checkouts measured in turn: on a shared machine only ratios taken side by side compare.

Each side runs the calling benchmark again in a child process of its own whose
``PYTHONPATH`` is that checkout's ``src`` (``before``: the other one, ``after``:
this one); the child writes its result as JSON to the path it is given.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = str(Path(__file__).resolve().parents[1] / "src")


def in_turn(script: str, argv: Callable[[Path], list[str]], other_src: str, rounds: int, out_dir: Path,
            quiet: bool = False) -> Iterator[tuple[int, str, Any]]:
    """Yield ``(round, side, result)``: ``script`` run with ``argv(result path)`` on the other checkout, then
    on this one, ``rounds`` times."""
    sides = {"before": str(Path(other_src).resolve()), "after": HERE}
    for r in range(rounds):
        for label, src in sides.items():
            out = out_dir / f"against-{label}-{r}.json"
            subprocess.run([sys.executable, script, *argv(out)], check=True, env=dict(os.environ, PYTHONPATH=src),
                           stdout=subprocess.DEVNULL if quiet else None)
            yield r, label, json.loads(out.read_text())


def load_passes() -> None:
    """Load the compiled feature passes of the checkout on ``PYTHONPATH`` before anything is timed: the
    extension module (``native``), numba's JIT cache (``jit``, before it), or nothing (older checkouts)."""
    try:
        from fvc.features import native
    except ImportError:
        try:
            from fvc.features import jit
        except ImportError:
            return
        jit.load_all()
        return
    native.extension()
