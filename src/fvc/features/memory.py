"""Keep freed frame-sized buffers in the process instead of handing them back to the OS.

Every per-frame map is a few MB; glibc returns blocks that large to the OS
on free (mmap threshold, heap trimming), so the next frame page-faults them
back in, which cost more than the arithmetic itself (4x on the block DCT of
a 720p frame). Raising both thresholds keeps them for reuse; the peak
memory is unchanged. Linux/glibc only: elsewhere the allocator differs and
nothing is changed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed value on 64-bit
TRIM_THRESHOLD = 256 << 20
_done = False


def keep_freed_buffers() -> bool:
    """Set glibc's thresholds once per process; True when they are set."""
    global _done
    if _done or not sys.platform.startswith("linux"):
        return _done
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    if not hasattr(libc, "mallopt"):  # musl has no mallopt
        return False
    _done = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _done
