"""Frame buffers are kept by the process and backed by huge pages (``video.memory``)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from fvc.video.encode import Encoder
from fvc.video.memory import transparent_huge_pages

PROBE = """
import sys
import numpy as np
from fvc.video.io import open_video
from fvc.video.memory import heap_range
with open_video(sys.argv[1]):  # opening a video tunes the process: nothing else is called
    pass
frame = np.ones((1080 * 8, 1920), np.uint8)  # 16 MB: under the mmap threshold, so on the heap
start, end = heap_range()
assert start <= frame.ctypes.data < end, "the buffer is not on the heap"
lines = open("/proc/self/smaps").read().splitlines()
at = next(k for k, line in enumerate(lines) if line.endswith("[heap]"))
print(next(int(line.split()[1]) for line in lines[at:] if line.startswith("AnonHugePages:")))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc heap and /proc/self/smaps: Linux only")
def test_a_decoding_process_puts_frame_sized_buffers_on_huge_pages(tmp_path):
    if transparent_huge_pages() not in ("always", "madvise"):
        pytest.skip(f"transparent huge pages are {transparent_huge_pages() or 'unavailable'} on this kernel")
    video = tmp_path / "v.mp4"
    with Encoder(video, 25, 64, 64) as out:
        for _ in range(4):
            out.write(np.zeros((64, 64, 3), np.uint8))
    # a fresh process that only opens the video
    out = subprocess.run([sys.executable, "-c", PROBE, str(video)], capture_output=True, text=True, check=True).stdout
    assert int(out) >= 8 * 1024  # kB: most of the 16 MB buffer on 2 MB pages
