"""Test fixture videos are the same bytes in any process: the fixture writers encode through the one
deterministic encoder (:mod:`fvc.video.encode`).

A fixture that differs from one write to the next makes two workspaces built "the same way" hold
different videos, so whatever is computed from them differs too: a deep fold trained as a Ray task on
one workspace gave other probabilities than the same fold trained locally on another (issue 12).
Two processes pinned to different CPUs, one with glibc filling fresh memory with 0xA5
(``MALLOC_PERTURB_``), write the same fixtures at 320x240; files and decoded frames must be equal.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from fvc.video.io import iter_frames

TESTS = Path(__file__).resolve().parent

# conftest's moving texture and the deep tests' noisy letterboxed clip, both at 320x240 or more
WRITE = """
import os, sys
from pathlib import Path
os.sched_setaffinity(0, {cpus!r})
sys.path.insert(0, {tests!r})
from conftest import write_video
from _deep_fixtures import write_letterboxed
out = Path({out!r})
for seed in range(3):
    write_video(out / f"tex{{seed}}.mp4", frames=10, width=320, height=240, seed=seed)
    write_letterboxed(out / f"fake{{seed}}.mp4", True, seed=seed, frames=10, orig=(320, 240), size=320)
write_video(out / "vp9.webm", frames=6, width=320, height=240, codec="libvpx-vp9")
"""


def _write_pair(root: Path) -> list[Path]:
    cpus = sorted(os.sched_getaffinity(0))
    setups = [({cpus[0]}, {}), (set(cpus), {"MALLOC_PERTURB_": "165"})]
    outs, procs = [], []
    for k, (cpu_set, extra_env) in enumerate(setups):
        out = root / f"p{k}"
        out.mkdir()
        code = WRITE.format(cpus=cpu_set, tests=str(TESTS), out=str(out))
        procs.append(subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ, **extra_env),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
        outs.append(out)
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    return outs


def _frames_digest(path: Path) -> str:
    h = hashlib.sha256()
    for _, frame in iter_frames(path):
        h.update(frame.tobytes())
    return h.hexdigest()


def test_fixture_videos_are_identical_across_processes_and_cpu_sets(tmp_path):
    a, b = _write_pair(tmp_path)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir()) and len(names) == 7
    frames_differ = [n for n in names if _frames_digest(a / n) != _frames_digest(b / n)]
    assert not frames_differ, f"decoded frames differ between the two processes: {frames_differ}"
    bytes_differ = [n for n in names if (a / n).read_bytes() != (b / n).read_bytes()]
    assert not bytes_differ, f"file bytes differ between the two processes: {bytes_differ}"
