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

from ..errors import MissingDependencyError

try:
    import numba
except ImportError as e:  # a core dependency: only a broken install gets here
    raise MissingDependencyError("the feature passes need numba, a core dependency: reinstall with pip install -e . "
                                 "(or pip install 'numba>=0.60')") from e

# reassociation and contraction let LLVM vectorise the float sums (each a fixed order for a given CPU, so a
# frame's values do not depend on where its buffers lie); no assumption about NaN or infinity
_FASTMATH = {"reassoc", "contract", "nsz"}


def compiled(signature: str | None = None):
    """Decorator: the function compiled to machine code (no Python objects inside, the GIL released, cached
    on disk). With a ``signature`` it is compiled, or loaded from the cache, when its module is imported:
    worker processes forked after that import (the stage pool's forkserver preloads the stage's module)
    share it instead of loading it each, and an argument of another type is an error, not a new compile.
    Without one (helpers called from compiled code), it is compiled for the types its callers pass."""
    return numba.njit(signature, cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy",
                      boundscheck=False) if signature else numba.njit(
        cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy", boundscheck=False)
