"""Frame-sized buffers: kept in the process, and backed by huge pages.

Every per-frame map is a few MB. glibc returns blocks that large to the OS
on free (mmap threshold, heap trimming), so the next frame page-faulted them
back in, which cost more than the arithmetic itself (4x on the block DCT of
a 720p frame); raising both thresholds keeps them for reuse, and the peak
memory is unchanged.

Kept buffers still lie on 4 KiB pages: a 720p map spans 900 of them, and
between two sampled frames the decoder evicts their translations, so every
map pays a page walk per page, which in a virtual machine (nested paging)
cost as much as the filter itself (the noise family 8.0 -> 3.7 ms a 720p
frame; the decode floor about 30% less). The heap is therefore advised as huge-page
memory (``MADV_HUGEPAGE``: the kernel backs it with 2 MiB pages where
transparent huge pages are enabled, "always" or "madvise"), and it grows in
64 MiB steps so that each step is advised before the buffers in it are
first touched; the whole letterbox stage (decode and x264 encode) costs
10-14% less CPU with it. ``video.io.open_video`` and ``video.encode.Encoder``
call it, so every process that decodes or encodes a video is tuned, whatever
started it (stage workers, Ray, Airflow, SLURM). Linux/glibc only: elsewhere
the allocator differs and nothing is changed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from pathlib import Path

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed value on 64-bit
TRIM_THRESHOLD = 256 << 20
TOP_PAD = 64 << 20  # the heap grows by this much beyond each request: reserved address space, not memory
_MADV_HUGEPAGE = 14
THP_SETTING = Path("/sys/kernel/mm/transparent_hugepage/enabled")


class _Heap:
    """The C heap of this process: its start, and how far it is advised."""

    libc: ctypes.CDLL | None = None
    start = 0
    advised_to = 0


_heap = _Heap()


def tune_frame_memory() -> bool:
    """Keep freed buffers, and advise any heap grown since the last call as huge-page memory.

    Cheap after the first call (one ``sbrk(0)``); call it before each video. True where glibc's
    thresholds are set (Linux/glibc).
    """
    if _heap.libc is None:
        if not _setup():
            return False
    libc = _heap.libc
    end = libc.sbrk(0)
    if end and _heap.start and end > _heap.advised_to:
        # advising a range twice is harmless; a failure only means no huge pages (e.g. THP "never")
        libc.madvise(_heap.start, end - _heap.start, _MADV_HUGEPAGE)
        _heap.advised_to = end
    return True


def _setup() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name, use_errno=True)
    if not hasattr(libc, "mallopt"):  # musl has no mallopt
        return False
    if not (libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
            and libc.mallopt(_M_TOP_PAD, TOP_PAD)):
        return False
    libc.sbrk.restype = ctypes.c_void_p
    libc.sbrk.argtypes = [ctypes.c_ssize_t]
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    # grow the heap by the pad now, so the first video's buffers are advised before they are touched:
    # the block and the pad stay free at the top of the heap (under the trim threshold), untouched
    libc.free(libc.malloc(16 << 20))
    _heap.start = heap_range()[0]
    _heap.libc = libc
    return True


def heap_range() -> tuple[int, int]:
    """(start, end) of the process's ``[heap]`` mapping; (0, 0) when it has none."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            if line.rstrip().endswith("[heap]"):
                start, end = line.split()[0].split("-")
                return int(start, 16), int(end, 16)
    return 0, 0


def transparent_huge_pages() -> str:
    """The kernel's transparent-huge-page mode ("always", "madvise", "never"; "" where unknown)."""
    try:
        text = THP_SETTING.read_text()
    except OSError:
        return ""
    return text[text.find("[") + 1: text.find("]")] if "[" in text else ""
