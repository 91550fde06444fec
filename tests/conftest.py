"""Shared fixtures: tiny generated videos and FVC-format metadata, never real data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("FVC_NO_PROGRESS", "1")


@pytest.fixture(scope="session", autouse=True)
def compiled_feature_passes():
    """The feature passes' extension module built (or found in the cache) before any test runs: a first build
    takes about 20 s and would otherwise fall inside whichever test computes features first (a timed or
    interrupted one among them). Workers that start together build it once (``native``'s lock)."""
    from fvc.features import native

    native.extension()


def write_video(
    path: Path,
    frames: int = 12,
    width: int = 64,
    height: int = 48,
    fps: int = 15,
    codec: str = "libx264",
    seed: int = 0,
) -> Path:
    """Write a small moving-gradient video with PyAV; deterministic per seed."""
    from fvc.video.encode import Encoder

    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, size=(height, width, 3), dtype=np.uint8)
    pix_fmt = "yuv420p"
    with Encoder(path, fps=fps, width=width, height=height, codec=codec, pix_fmt=pix_fmt) as w:
        for i in range(frames):
            w.write(np.roll(base, shift=i * 2, axis=1))
    return path


@pytest.fixture
def make_video(tmp_path):
    def _make(name: str = "v.mp4", **kw) -> Path:
        return write_video(tmp_path / name, **kw)

    return _make


def write_csv(path: Path, rows: list[tuple[str, str, str]], header: str = "cascade_id,video_url,label") -> Path:
    path.write_text(header + "\n" + "".join(f"{c},{u},{lab}\n" for c, u, lab in rows), encoding="utf-8")
    return path


@pytest.fixture
def fvc(capsys):
    """Run the CLI in-process through ``main()``, as the console script does: ``(exit code, stdout, stderr)``."""
    from fvc.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exc:
            main(list(args))
        out = capsys.readouterr()
        return exc.value.code, out.out, out.err

    return run
