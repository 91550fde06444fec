"""Plots never write matplotlib's font cache or config into the user's home folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import fvc

SRC = str(Path(fvc.__file__).resolve().parents[1])

EXPLORE = """
import sys
import pandas as pd
from fvc.data.explore import write_exploration_plots
index = pd.DataFrame({"label_raw": ["fake", "real"], "width": [64, 32], "height": [48, 24],
                      "duration": [1.0, 2.0], "fps": [15.0, 25.0], "codec": ["h264", "vp9"],
                      "platform": ["youtube", "twitter"], "cascade_id": ["f0", "r0"], "error": [None, None]})
print(len(write_exploration_plots(index, sys.argv[1])))
"""

# Any module that plots after the CLI has started (the report does, importing matplotlib itself).
CLI_THEN_PLOT = """
import sys
import fvc.cli
import matplotlib.pyplot as plt
fig, ax = plt.subplots()
ax.plot([0, 1], [1, 0])
fig.savefig(sys.argv[1] + "/line.png")
print(1)
"""


@pytest.mark.parametrize("script", [EXPLORE, CLI_THEN_PLOT], ids=["explore", "cli"])
def test_matplotlib_cache_goes_to_a_temp_folder_not_home(tmp_path, script):
    home, tmp, plots = tmp_path / "home", tmp_path / "tmp", tmp_path / "plots"
    for d in (home, tmp, plots):
        d.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")}
    env.update(HOME=str(home), TMPDIR=str(tmp), PYTHONPATH=SRC)
    result = subprocess.run([sys.executable, "-c", script, str(plots)], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[-1]) == len(list(plots.glob("*.png"))) > 0
    assert sorted(home.rglob("*")) == []
    assert list(tmp.glob(f"fvc-matplotlib-{os.getuid()}/fontlist*.json"))


def test_a_folder_the_user_chose_is_kept(tmp_path):
    chosen = tmp_path / "mine"
    env = dict(os.environ, MPLCONFIGDIR=str(chosen), HOME=str(tmp_path / "home"), PYTHONPATH=SRC)
    result = subprocess.run([sys.executable, "-c", EXPLORE, str(tmp_path)], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert list(chosen.glob("fontlist*.json"))
