"""Compiling a per-frame filter chain into one pass over the pixels (numba).

A family that chains filters and reductions through OpenCV or NumPy walks the
frame once per call and pays a few microseconds of dispatch per call; on the
small frames of user-generated video the dispatch outweighs the arithmetic, and
on large ones the repeated walks through memory do. A compiled pass reads each
pixel once and keeps what it derives in registers. The compiled code is cached
on disk (``cache=True``, next to the source or in numba's user cache), so a
process compiles a pass only the first time ever, and loads it in milliseconds
afterwards.
"""

from __future__ import annotations

try:
    import numba
except ImportError as e:  # a dependency of the package: only a broken install gets here
    raise ImportError("the feature passes need numba: pip install 'numba>=0.60' (or reinstall fvc-detect)") from e

# reassociation and contraction let LLVM vectorise the float sums (each a fixed order for a given CPU, so a
# frame's values do not depend on where its buffers lie); no assumption about NaN or infinity
_FASTMATH = {"reassoc", "contract", "nsz"}


def compiled(fn):
    """``fn`` compiled to machine code: no Python objects inside, the GIL released, cached on disk."""
    return numba.njit(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy", boundscheck=False)(fn)
