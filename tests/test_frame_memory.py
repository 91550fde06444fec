"""Frame buffers are kept by the process and backed by huge pages (``features.memory``)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fvc.features.memory import transparent_huge_pages

PROBE = """
import numpy as np
from fvc.features.memory import heap_range, tune_frame_memory
assert tune_frame_memory()
frame = np.ones((1080 * 8, 1920), np.uint8)  # 16 MB: under the mmap threshold, so on the heap
start, end = heap_range()
assert start <= frame.ctypes.data < end, "the buffer is not on the heap"
lines = open("/proc/self/smaps").read().splitlines()
at = next(k for k, line in enumerate(lines) if line.endswith("[heap]"))
huge = next(int(line.split()[1]) for line in lines[at:] if line.startswith("AnonHugePages:"))
print(huge)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc heap and /proc/self/smaps: Linux only")
def test_frame_sized_buffers_lie_on_huge_pages():
    if transparent_huge_pages() not in ("always", "madvise"):
        pytest.skip(f"transparent huge pages are {transparent_huge_pages() or 'unavailable'} on this kernel")
    # a fresh process: the advice must come from tune_frame_memory, not from an earlier test
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    assert int(out) >= 8 * 1024  # kB: most of the 16 MB buffer on 2 MB pages
