"""Compiling a per-frame filter chain into one pass over the pixels (numba).

A family that chains filters and reductions through OpenCV or NumPy walks the
frame once per call and pays a few microseconds of dispatch per call; on the
small frames of user-generated video the dispatch outweighs the arithmetic, and
on large ones the repeated walks through memory do. A compiled pass reads each
pixel once and keeps what it derives in registers. The compiled code is cached
on disk (``cache=True``, next to the source or in numba's user cache), so a
process compiles a pass only the first time ever and loads it afterwards.

numba (and LLVM with it: over 100 MB resident) is imported when a process
first calls a pass, not when it imports the feature modules: a process that
only names the features (the stage's parent, which writes the table) never
loads it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import MissingDependencyError

# reassociation and contraction let LLVM vectorise the float sums (each a fixed order for a given CPU, so a
# frame's values do not depend on where its buffers lie); no assumption about NaN or infinity
_FASTMATH = {"reassoc", "contract", "nsz"}
_PASSES: list[_Compiled] = []


class _Compiled:
    """A function compiled on its first call (or loaded from numba's cache) for its one signature: an
    argument of another type is an error, not a new compile."""

    def __init__(self, fn: Callable, signature: str | None):
        self.fn, self.signature, self._dispatcher = fn, signature, None
        self.__doc__, self.__name__ = fn.__doc__, fn.__name__

    def __call__(self, *args: Any) -> Any:
        return self.dispatcher()(*args)

    def dispatcher(self):
        if self._dispatcher is None:
            try:
                import numba
            except ImportError as e:  # a core dependency: only a broken install gets here
                raise MissingDependencyError("the feature passes need numba, a core dependency: reinstall with "
                                             "pip install -e . (or pip install 'numba>=0.60')") from e
            # the compiled functions it calls are compiled first (their module's names rebound to them,
            # which is where numba looks them up)
            for name in self.fn.__code__.co_names:
                callee = self.fn.__globals__.get(name)
                if isinstance(callee, _Compiled):
                    self.fn.__globals__[name] = callee.dispatcher()
            options = dict(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy", boundscheck=False)
            self._dispatcher = (numba.njit(self.signature, **options) if self.signature
                                else numba.njit(**options))(self.fn)
            self.fn.__globals__[self.fn.__name__] = self._dispatcher  # callers in its module: straight to it
        return self._dispatcher


def compiled(signature: str | None = None) -> Callable[[Callable], _Compiled]:
    """Decorator: the function compiled to machine code (no Python objects inside, the GIL released, cached
    on disk) when first called, for ``signature``; without one (helpers called from compiled code only),
    for the types its callers pass."""
    def wrap(fn: Callable) -> _Compiled:
        c = _Compiled(fn, signature)
        _PASSES.append(c)
        return c
    return wrap


def load_all() -> None:
    """Compile (or load from the cache) every pass of the imported modules now, e.g. to time it."""
    for c in _PASSES:
        if c.signature:
            c.dispatcher()
