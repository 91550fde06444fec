"""Matplotlib for the project's plots: the Agg backend, and caches kept out of the user's home.

Matplotlib writes its font cache and config under ``~/.cache`` / ``~/.config``
unless ``MPLCONFIGDIR`` says otherwise, and reads that variable once, when it
is first imported. ``fvc`` points it at a private temporary folder before any
plotting module loads; a user who set ``MPLCONFIGDIR`` keeps their choice.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ENV = "MPLCONFIGDIR"


def _private_temp_dir() -> Path:
    """``$TMPDIR/fvc-matplotlib-<uid>``, ours and not a link; else a fresh temporary folder."""
    path = Path(tempfile.gettempdir()) / f"fvc-matplotlib-{os.getuid()}"
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        st = path.lstat()
        if not path.is_symlink() and st.st_uid == os.getuid():
            return path
    except OSError:
        pass
    return Path(tempfile.mkdtemp(prefix="fvc-matplotlib-"))


def keep_matplotlib_out_of_home() -> str | None:
    """Set ``MPLCONFIGDIR`` to a private temporary folder unless it is set or matplotlib is loaded.

    Returns the folder matplotlib will use (None when it was already decided).
    """
    if os.environ.get(ENV):
        return os.environ[ENV]
    if "matplotlib" in sys.modules:
        return None
    os.environ[ENV] = str(_private_temp_dir())
    return os.environ[ENV]


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend, its caches out of the home folder."""
    keep_matplotlib_out_of_home()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
